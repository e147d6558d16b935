################################################################################
# Origin function: function URL (AWS_IAM) behind CloudFront's origin access control
################################################################################

resource "aws_cloudwatch_log_group" "origin" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; the log lines hold keys and timings, no image data or secrets.
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days): request logs of a cache origin are operational, not audit records.
  name              = "/aws/lambda/${var.name}-origin"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "origin" {
  #checkov:skip=CKV_AWS_50:X-Ray adds per-trace cost; the handler emits Server-Timing and one structured log line per request.
  #checkov:skip=CKV_AWS_116:Invoked synchronously through its function URL; a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Talks only to S3 over the public endpoints; a VPC would add NAT or endpoint cost and cold-start latency for no isolation gain.
  #checkov:skip=CKV_AWS_173:Bucket names and limits, plus SIGNING_KEYS when signing is on (there so the origin's signature re-check needs no per-request secrets lookup); the AWS-owned key encrypts it at rest. Use a customer-managed KMS key if readers of the function's configuration must not see the secrets.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the operator owns; the zip is built reproducibly by `image-origin package`.
  function_name    = "${var.name}-origin"
  description      = "Resizes and re-encodes images on CloudFront cache misses (image-origin)."
  role             = aws_iam_role.origin.arn
  handler          = "origin_handler.origin.lambda_function.lambda_handler"
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  memory_size      = var.lambda_memory_size
  timeout          = var.lambda_timeout

  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency

  environment {
    # Holds SIGNING_KEYS when signing is on, which makes the whole map sensitive in plans.
    variables = local.origin_environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.origin.name
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.create_originals_bucket || var.originals_bucket_name != null
      error_message = "originals_bucket_name is required when create_originals_bucket is false."
    }
  }

  depends_on = [aws_iam_role_policy.origin]
}

resource "aws_lambda_function_url" "origin" {
  function_name      = aws_lambda_function.origin.function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = "BUFFERED"
}

# CloudFront signs origin requests (OAC, SigV4) as the cloudfront.amazonaws.com service.
# Function URLs created since October 2025 need two grants: lambda:InvokeFunctionUrl and
# lambda:InvokeFunction ("Starting in October 2025, new function URLs will require both
# lambda:InvokeFunctionUrl and lambda:InvokeFunction permissions",
# https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html; for CloudFront OAC see
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html).
# Both are scoped to this distribution by source_arn (the AWS:SourceArn condition).
resource "aws_lambda_permission" "cloudfront_invoke_url" {
  statement_id           = "AllowCloudFrontInvokeFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.origin.function_name
  principal              = "cloudfront.amazonaws.com"
  source_arn             = aws_cloudfront_distribution.this.arn
  function_url_auth_type = "AWS_IAM"
}

# The second grant. invoked_via_function_url (the lambda:InvokedViaFunctionUrl condition)
# exists only in 6.x providers (6.28 on); it is left out so that the module works on 5.x
# as well (versions.tf allows >= 5.100). Without it the statement also allows the Invoke API,
# but only to cloudfront.amazonaws.com acting for this one distribution, and CloudFront
# reaches a function only through its origin, the function URL: no access is widened.
resource "aws_lambda_permission" "cloudfront_invoke_function" {
  statement_id  = "AllowCloudFrontInvokeFunction"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.origin.function_name
  principal     = "cloudfront.amazonaws.com"
  source_arn    = aws_cloudfront_distribution.this.arn
}
