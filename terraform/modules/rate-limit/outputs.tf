output "web_acl_arn" {
  description = "ARN of the web ACL: pass it to the image_origin module's web_acl_id."
  value       = aws_wafv2_web_acl.this.arn
}
