################################################################################
# Originals changed -> S3 event notification -> SQS (+ DLQ) -> events function
################################################################################

resource "aws_sqs_queue" "events_dlq" {
  count = var.enable_events ? 1 : 0

  name                      = "${var.name}-events-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to look and redrive
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "events" {
  count = var.enable_events ? 1 : 0

  name                       = "${var.name}-events"
  visibility_timeout_seconds = 6 * var.events_timeout
  message_retention_seconds  = 345600 # 4 days
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true
  tags                       = var.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq[0].arn
    maxReceiveCount     = var.events_max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "events_dlq" {
  count = var.enable_events ? 1 : 0

  queue_url = aws_sqs_queue.events_dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.events[0].arn]
  })
}

data "aws_iam_policy_document" "events_queue" {
  count = var.enable_events ? 1 : 0

  statement {
    sid       = "AllowOriginalsBucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events[0].arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.originals_bucket_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  count = var.enable_events ? 1 : 0

  queue_url = aws_sqs_queue.events[0].id
  policy    = data.aws_iam_policy_document.events_queue[0].json
}

# Replaces the bucket's whole notification configuration (S3 keeps one per bucket).
resource "aws_s3_bucket_notification" "originals" {
  count = var.enable_events ? 1 : 0

  bucket = local.originals_bucket_name

  queue {
    queue_arn = aws_sqs_queue.events[0].arn
    events    = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
  }

  depends_on = [aws_sqs_queue_policy.events]
}

resource "aws_cloudwatch_log_group" "events" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; the log lines hold keys and counts, no image data or secrets.
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days): purge/warm logs are operational, not audit records.
  count = var.enable_events ? 1 : 0

  name              = "/aws/lambda/${var.name}-events"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "events" {
  #checkov:skip=CKV_AWS_50:X-Ray adds per-trace cost; the handler logs one structured line per record.
  #checkov:skip=CKV_AWS_115:Concurrency is capped by the event source mapping's maximum_concurrency (var.events_maximum_concurrency).
  #checkov:skip=CKV_AWS_116:Invoked by an SQS event source mapping; failed messages go to the queue's dead-letter queue, not a function DLQ.
  #checkov:skip=CKV_AWS_117:Talks only to S3 and CloudFront over public endpoints; a VPC would add NAT or endpoint cost for no isolation gain.
  #checkov:skip=CKV_AWS_173:The environment holds bucket names, the distribution id and limits, no secrets; the default AWS-owned key encrypts it at rest.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the operator owns; the zip is built reproducibly by `image-origin package`.
  count = var.enable_events ? 1 : 0

  function_name    = "${var.name}-events"
  description      = "Purges, invalidates and pre-generates variants when originals change (image-origin)."
  role             = aws_iam_role.events[0].arn
  handler          = "origin_handler.lifecycle.lambda_function.lambda_handler"
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  memory_size      = var.events_memory_size
  timeout          = var.events_timeout

  environment {
    variables = local.events_environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.events[0].name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.events]
}

resource "aws_lambda_event_source_mapping" "events" {
  count = var.enable_events ? 1 : 0

  event_source_arn                   = aws_sqs_queue.events[0].arn
  function_name                      = aws_lambda_function.events[0].arn
  batch_size                         = var.events_batch_size
  maximum_batching_window_in_seconds = var.events_batching_window_seconds
  # The handler reports the records it could not process; only those are retried.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.events_maximum_concurrency
  }

  lifecycle {
    # Lambda API reference (MaximumBatchingWindowInSeconds): "For streams and Amazon SQS event
    # sources, when you set BatchSize to a value greater than 10, you must set
    # MaximumBatchingWindowInSeconds to at least 1." Plan would pass; CreateEventSourceMapping
    # would fail at apply.
    precondition {
      condition     = var.events_batch_size <= 10 || var.events_batching_window_seconds >= 1
      error_message = "events_batch_size above 10 needs events_batching_window_seconds of at least 1 (an SQS event source limit)."
    }
  }
}
