################################################################################
# Viewer-request CloudFront Function: normalises the query into the canonical URI
################################################################################

resource "aws_cloudfront_function" "viewer_request" {
  name    = "${var.name}-viewer-request"
  runtime = "cloudfront-js-2.0"
  comment = "Snaps w/h/q to the allow-lists, negotiates the format from Accept, checks signatures, rewrites the URI to its canonical form."
  publish = true
  code    = local.viewer_request_code

  # The function reads its secrets with cf.kvs(): the one store associated with it. With
  # signing off it never opens the store, and none is associated.
  key_value_store_associations = local.signing ? [aws_cloudfront_key_value_store.signing[0].arn] : null

  lifecycle {
    # The artefact is built from the policy (cloudfront/build.mjs): a policy whose mode
    # changed without a rebuild would deploy a function that checks (or skips) signatures
    # the origin does not.
    precondition {
      condition     = local.viewer_request_signing == local.signing_mode
      error_message = "cloudfront/viewer-request.min.js does not match origin_handler/policy.json: the policy's signing.mode is \"${local.signing_mode}\" but the artefact ${local.viewer_request_signing == "" ? "has no \"// signing:\" line" : "was built for \"${local.viewer_request_signing}\""}. Rebuild it with node cloudfront/build.mjs (make edge)."
    }
  }

  # A new function version that checks signatures goes live only once its keys are in the
  # store; with signing turned off, the keys and the store go only after the function has
  # dropped its association.
  depends_on = [aws_cloudfrontkeyvaluestore_key.signing]
}

################################################################################
# Signed URLs: the secrets the viewer-request function checks signatures with
################################################################################

# One store per distribution, only when policy.json turns signing on. Its keys reach every
# edge location within seconds of an apply (no distribution deployment, no invalidation).
resource "aws_cloudfront_key_value_store" "signing" {
  count   = local.signing ? 1 : 0
  name    = "${var.name}-signing"
  comment = "image-origin: signed-URL secrets, signing-key-<key id> (docs/signed-urls.md)."

  lifecycle {
    precondition {
      condition     = length(local.signing_key_ids) > 0
      error_message = "origin_handler/policy.json has signing.mode \"${local.signing_mode}\": signing_keys needs at least one key id => secret (image-origin sign --new-secret makes one; pass it as TF_VAR_signing_keys), or set the mode to \"off\"."
    }
  }
}

# Keys given while the policy has signing off are not deployed anywhere: say so (a warning;
# setting the keys a release before switching the mode on is a valid order).
check "signing_keys_unused" {
  assert {
    condition     = local.signing || length(local.signing_key_ids) == 0
    error_message = "signing_keys are set but origin_handler/policy.json has signing.mode \"off\": they are deployed nowhere (no KeyValueStore, no SIGNING_KEYS) until the mode is optional or required."
  }
}

# One resource per key, so adding or removing a key in a rotation touches only that key.
# The provider serialises writes to one store (each needs its current ETag).
resource "aws_cloudfrontkeyvaluestore_key" "signing" {
  for_each            = local.signing ? local.signing_key_ids : toset([])
  key_value_store_arn = aws_cloudfront_key_value_store.signing[0].arn
  key                 = "${local.signing_kvs_prefix}${each.key}"
  value               = var.signing_keys[each.key]
}

# Adds "Vary: Accept" to variants whose format Accept decided, whichever origin answered
# (S3 cannot store a Vary header on the derived object).
resource "aws_cloudfront_function" "viewer_response" {
  name    = "${var.name}-viewer-response"
  runtime = "cloudfront-js-2.0"
  comment = "Vary: Accept on negotiated (f=auto-...) variants."
  publish = true
  code    = file("${path.module}/../cloudfront/viewer-response.js")
}

################################################################################
# Policies
################################################################################

# The URI is the whole cache key: the viewer-request function has already folded the query
# and the Accept header into it, so a finite set of variants exists per original.
resource "aws_cloudfront_cache_policy" "uri_only" {
  name        = "${var.name}-uri-only"
  comment     = "image-origin: cache key is the canonical URI alone."
  min_ttl     = 0
  default_ttl = var.cdn_max_age
  max_ttl     = var.cdn_max_age

  parameters_in_cache_key_and_forwarded_to_origin {
    # Images are already compressed; gzip/brotli variants would only split the cache.
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# What reaches the origins beyond the cache key: the query string s alone, so that the
# origin function can check a signature again while the cache key stays the URI (one cached
# object for every key id's signature of a variant). The viewer-request function leaves
# s as the whole query only when it verified one, and an empty query otherwise, so with
# signing off (or an unsigned request under "optional") this forwards nothing. It is
# attached whatever the mode: switching the mode then changes the function and the store,
# not the distribution's behaviour (a distribution change takes minutes to deploy).
# The derived bucket gets s too; S3 ignores query parameters it does not know (OAC signs
# the request with it), so the variant is served as without it.
resource "aws_cloudfront_origin_request_policy" "signature" {
  name    = "${var.name}-signature"
  comment = "image-origin: forwards the verified signature (s) for the origin's re-check; nothing else."

  cookies_config {
    cookie_behavior = "none"
  }
  headers_config {
    header_behavior = "none"
  }
  query_strings_config {
    query_string_behavior = "whitelist"
    query_strings {
      items = ["s"]
    }
  }
}

# Added at the edge on every response, so CORS works although Origin is not in the cache key.
resource "aws_cloudfront_response_headers_policy" "this" {
  #checkov:skip=CKV_AWS_259:HSTS is sent for a year with includeSubDomains but without preload: preload is for apex domains and would commit the alias owner's whole domain.
  name    = "${var.name}-headers"
  comment = "image-origin: nosniff, HSTS, S3 headers removed, CORS for the allowed origins."

  security_headers_config {
    content_type_options {
      override = true
    }
    # Viewers are redirected to HTTPS anyway; HSTS makes later visits skip the redirect.
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = false
      override                   = true
    }
  }

  # Answers from the derived bucket carry S3's own headers: the metadata the origin stores
  # (source-etag only on variants written by earlier versions) and encryption and version
  # details. Viewers need none of them; none is on CloudFront's list of unremovable headers.
  remove_headers_config {
    items {
      header = "x-amz-meta-source-last-modified"
    }
    items {
      header = "x-amz-meta-source-etag"
    }
    items {
      header = "x-amz-server-side-encryption"
    }
    items {
      header = "x-amz-server-side-encryption-aws-kms-key-id"
    }
    items {
      header = "x-amz-server-side-encryption-bucket-key-enabled"
    }
    items {
      header = "x-amz-version-id"
    }
  }

  dynamic "cors_config" {
    for_each = length(var.cors_allowed_origins) > 0 ? [1] : []
    content {
      access_control_allow_credentials = false
      origin_override                  = true
      access_control_max_age_sec       = 86400

      access_control_allow_headers {
        items = ["*"]
      }
      access_control_allow_methods {
        items = ["GET", "HEAD", "OPTIONS"]
      }
      access_control_allow_origins {
        items = var.cors_allowed_origins
      }
    }
  }
}

################################################################################
# Origin access controls
################################################################################

resource "aws_cloudfront_origin_access_control" "derived" {
  name                              = "${var.name}-derived-s3"
  description                       = "image-origin: CloudFront reads the derived bucket."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_origin_access_control" "function" {
  name                              = "${var.name}-transform-lambda"
  description                       = "image-origin: CloudFront invokes the transform function URL."
  origin_access_control_origin_type = "lambda"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

################################################################################
# Distribution
################################################################################

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV2_AWS_47:No WAF web ACL by default (optional var.web_acl_id); the origin runs no Java, so the Log4j rule set does not apply.
  #checkov:skip=CKV_AWS_305:An image CDN has no index document; the root URL is not an image.
  #checkov:skip=CKV_AWS_374:Geo restriction is a business decision; images are served worldwide by default.
  enabled         = true
  comment         = "${var.name}: on-demand image transformation"
  is_ipv6_enabled = true
  http_version    = "http2and3"
  price_class     = var.price_class
  aliases         = var.aliases
  web_acl_id      = var.web_acl_id
  tags            = var.tags

  # Primary: the derived bucket, through its OAC.
  origin {
    origin_id                = local.derived_origin_id
    domain_name              = aws_s3_bucket.derived.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.derived.id

    # Origin Shield: one more cache layer in front of both origins, so misses from all
    # regional edge caches collapse into one render instead of one per region.
    dynamic "origin_shield" {
      for_each = var.origin_shield_region == null ? [] : [var.origin_shield_region]
      content {
        enabled              = true
        origin_shield_region = origin_shield.value
      }
    }
  }

  # Secondary: the transform function URL, through its OAC (the URL requires AWS_IAM).
  origin {
    origin_id                = local.function_origin_id
    domain_name              = local.function_url_host
    origin_access_control_id = aws_cloudfront_origin_access_control.function.id

    dynamic "origin_shield" {
      for_each = var.origin_shield_region == null ? [] : [var.origin_shield_region]
      content {
        enabled              = true
        origin_shield_region = origin_shield.value
      }
    }

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = var.lambda_timeout + 2
      origin_keepalive_timeout = 5
    }
  }

  # A miss in the derived bucket answers 403 (no s3:ListBucket granted) or 404: render it.
  origin_group {
    origin_id = local.origin_group_id

    failover_criteria {
      # S3 5xx (500 InternalError, 503 SlowDown) too: the function serves the stored variant.
      status_codes = [403, 404, 500, 502, 503, 504]
    }
    member {
      origin_id = local.derived_origin_id
    }
    member {
      origin_id = local.function_origin_id
    }
  }

  default_cache_behavior {
    target_origin_id       = local.origin_group_id
    viewer_protocol_policy = "redirect-to-https"
    # OPTIONS so that a preflighted fetch() gets its CORS answer, not a 403. Cached: the
    # function answers every OPTIONS with the same 204, and the CORS headers are added per
    # viewer by the response headers policy, not stored with it.
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD", "OPTIONS"]
    compress                   = false
    cache_policy_id            = aws_cloudfront_cache_policy.uri_only.id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.signature.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.viewer_request.arn
    }

    function_association {
      event_type   = "viewer-response"
      function_arn = aws_cloudfront_function.viewer_response.arn
    }
  }

  dynamic "logging_config" {
    for_each = var.access_logs_bucket == null ? [] : [1]
    content {
      bucket          = var.access_logs_bucket
      prefix          = var.access_logs_prefix
      include_cookies = false
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == null
    acm_certificate_arn            = var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  lifecycle {
    precondition {
      condition     = length(var.aliases) == 0 || var.acm_certificate_arn != null
      error_message = "aliases need acm_certificate_arn (an ACM certificate in us-east-1 covering them)."
    }
  }
}
