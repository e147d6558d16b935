################################################################################
# Originals bucket (optional: an existing bucket can be used instead)
################################################################################

resource "aws_s3_bucket" "originals" {
  #checkov:skip=CKV_AWS_18:Server access logs for the originals bucket are the operator's choice; CloudFront access logs cover viewer traffic.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a backup policy decision outside this module.
  #checkov:skip=CKV_AWS_145:SSE-S3 encrypts at rest; SSE-KMS would add a KMS request to every cache miss for no access-control gain here.
  count = var.create_originals_bucket ? 1 : 0

  bucket        = var.originals_bucket_name
  bucket_prefix = var.originals_bucket_name == null ? "${var.name}-originals-" : null
  force_destroy = var.force_destroy_originals
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "originals" {
  count = var.create_originals_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.originals[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "originals" {
  count = var.create_originals_bucket ? 1 : 0

  bucket = aws_s3_bucket.originals[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "originals" {
  count = var.create_originals_bucket ? 1 : 0

  bucket = aws_s3_bucket.originals[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "originals" {
  count = var.create_originals_bucket ? 1 : 0

  bucket = aws_s3_bucket.originals[0].id
  versioning_configuration {
    status = var.originals_versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "originals" {
  count = var.create_originals_bucket ? 1 : 0

  bucket = aws_s3_bucket.originals[0].id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-old-versions"
    status = var.originals_versioning ? "Enabled" : "Disabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }

  depends_on = [aws_s3_bucket_versioning.originals]
}

data "aws_iam_policy_document" "originals_bucket" {
  count = var.create_originals_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.originals[0].arn,
      "${aws_s3_bucket.originals[0].arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "originals" {
  count = var.create_originals_bucket ? 1 : 0

  bucket = aws_s3_bucket.originals[0].id
  policy = data.aws_iam_policy_document.originals_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.originals]
}

################################################################################
# Derived bucket: the cache of rendered variants, CloudFront's primary origin
################################################################################

resource "aws_s3_bucket" "derived" {
  #checkov:skip=CKV_AWS_18:The derived bucket is a regenerable cache; CloudFront access logs cover its readers.
  #checkov:skip=CKV_AWS_21:Versioning a regenerable cache only multiplies storage; every object can be rendered again from its original.
  #checkov:skip=CKV_AWS_144:Cross-region replication of a regenerable cache has no value.
  #checkov:skip=CKV_AWS_145:SSE-S3 encrypts at rest; SSE-KMS would need a KMS grant for CloudFront and a KMS request per edge miss.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the derived bucket.
  bucket        = var.derived_bucket_name
  bucket_prefix = var.derived_bucket_name == null ? "${var.name}-derived-" : null
  # A cache: destroying the stack must not be blocked by its contents.
  force_destroy = true
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "derived" {
  bucket                  = aws_s3_bucket.derived.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "derived" {
  bucket = aws_s3_bucket.derived.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "derived" {
  bucket = aws_s3_bucket.derived.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "derived" {
  bucket = aws_s3_bucket.derived.id

  rule {
    id     = "expire-derived"
    status = "Enabled"
    filter {}
    expiration {
      days = var.derived_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "derived_bucket" {
  # Read by this distribution only, through its origin access control. No s3:ListBucket:
  # a missing key then answers 403, which the origin group fails over on (as on 404).
  statement {
    sid       = "AllowCloudFrontRead"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.derived.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.derived.arn,
      "${aws_s3_bucket.derived.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "derived" {
  bucket = aws_s3_bucket.derived.id
  policy = data.aws_iam_policy_document.derived_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.derived]
}
