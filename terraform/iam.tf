################################################################################
# Least-privilege roles: one per function, inline policies scoped to exact ARNs
################################################################################

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- origin function: read originals, read/write derived, write its own logs ----------------

resource "aws_iam_role" "origin" {
  name_prefix        = "${var.name}-origin-"
  description        = "image-origin transform function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "origin" {
  statement {
    sid       = "ReadOriginals"
    actions   = ["s3:GetObject"]
    resources = ["${local.originals_bucket_arn}/*"]
  }

  # ListBucket on exactly these two buckets makes S3 answer a missing key with 404 NoSuchKey
  # instead of 403 AccessDenied, so "no such original" stays a 404 and never looks like a
  # permission fault. It reveals only key names of buckets the function can already read.
  statement {
    sid       = "ListForNotFound"
    actions   = ["s3:ListBucket"]
    resources = [local.originals_bucket_arn, aws_s3_bucket.derived.arn]
  }

  statement {
    sid       = "ReadWriteDerived"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.derived.arn}/*"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.origin.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.originals_kms_key_arn == null ? [] : [var.originals_kms_key_arn]
    content {
      sid       = "DecryptOriginals"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "origin" {
  name   = "image-origin"
  role   = aws_iam_role.origin.id
  policy = data.aws_iam_policy_document.origin.json
}

# --- events function: consume the queue, purge + warm derived, invalidate the CDN ------------

resource "aws_iam_role" "events" {
  count = var.enable_events ? 1 : 0

  name_prefix        = "${var.name}-events-"
  description        = "image-origin originals-events function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "events" {
  count = var.enable_events ? 1 : 0

  statement {
    sid       = "ConsumeQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.events[0].arn]
  }

  statement {
    sid       = "ReadOriginals"
    actions   = ["s3:GetObject"]
    resources = ["${local.originals_bucket_arn}/*"]
  }

  # Listing the derived bucket finds an original's variants to purge (and those already
  # warm); listing originals makes an original deleted before warming a 404, not a 403.
  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket"]
    resources = [local.originals_bucket_arn, aws_s3_bucket.derived.arn]
  }

  # Purging deletes variants; warming writes them. GetObject only for HEAD: a variant's
  # metadata says which original it was rendered from, so a purge keeps current ones.
  statement {
    sid       = "PurgeAndWarmDerived"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.derived.arn}/*"]
  }

  statement {
    sid       = "InvalidateDistribution"
    actions   = ["cloudfront:CreateInvalidation"]
    resources = [aws_cloudfront_distribution.this.arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.events[0].arn}:*"]
  }

  dynamic "statement" {
    for_each = var.originals_kms_key_arn == null ? [] : [var.originals_kms_key_arn]
    content {
      sid       = "DecryptOriginals"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "events" {
  count = var.enable_events ? 1 : 0

  name   = "image-origin-events"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.events[0].json
}
