output "cdn_domain_name" {
  description = "Domain name of the CloudFront distribution (point aliases here with a CNAME or Route 53 alias)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "cdn_hosted_zone_id" {
  description = "Route 53 hosted zone id of the distribution, for alias records."
  value       = aws_cloudfront_distribution.this.hosted_zone_id
}

output "distribution_id" {
  description = "CloudFront distribution id (for `image-origin invalidate`)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "CloudFront distribution ARN."
  value       = aws_cloudfront_distribution.this.arn
}

output "originals_bucket_name" {
  description = "Bucket that holds the originals (created here or passed in)."
  value       = local.originals_bucket_name
}

output "derived_bucket_name" {
  description = "Bucket that caches the rendered variants."
  value       = aws_s3_bucket.derived.id
}

output "origin_function_name" {
  description = "Name of the transform (origin) Lambda function."
  value       = aws_lambda_function.origin.function_name
}

output "origin_function_url" {
  description = "Function URL of the transform function (AWS_IAM auth: only CloudFront can call it)."
  value       = aws_lambda_function_url.origin.function_url
}

output "origin_log_group_name" {
  description = "CloudWatch log group of the transform function."
  value       = aws_cloudwatch_log_group.origin.name
}

output "viewer_request_function_arn" {
  description = "ARN of the viewer-request CloudFront Function."
  value       = aws_cloudfront_function.viewer_request.arn
}

output "viewer_response_function_arn" {
  description = "ARN of the viewer-response CloudFront Function."
  value       = aws_cloudfront_function.viewer_response.arn
}

output "signing_key_value_store_arn" {
  description = "ARN of the CloudFront KeyValueStore holding the signed-URL secrets (null when origin_handler/policy.json has signing.mode off)."
  value       = local.signing ? aws_cloudfront_key_value_store.signing[0].arn : null
}

output "events_function_name" {
  description = "Name of the originals-events function (null when enable_events is false)."
  value       = var.enable_events ? aws_lambda_function.events[0].function_name : null
}

output "events_queue_url" {
  description = "URL of the originals-events queue (null when enable_events is false)."
  value       = var.enable_events ? aws_sqs_queue.events[0].url : null
}

output "events_dlq_url" {
  description = "URL of the dead-letter queue for events that failed max_receive_count times (null when enable_events is false)."
  value       = var.enable_events ? aws_sqs_queue.events_dlq[0].url : null
}
