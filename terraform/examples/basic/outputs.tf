output "cdn_domain_name" {
  description = "Use https://<this>/<key>?w=640 in <img src>."
  value       = module.image_origin.cdn_domain_name
}

output "originals_bucket_name" {
  description = "Upload originals here (aws s3 cp photo.jpg s3://<this>/photos/)."
  value       = module.image_origin.originals_bucket_name
}
