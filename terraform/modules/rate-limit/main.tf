# A WAFv2 web ACL for CloudFront with one rate-based rule per client IP. CloudFront web ACLs
# live in us-east-1 whatever the distribution's region: call this module with a provider
# for us-east-1 and pass web_acl_arn to the image_origin module's web_acl_id.

resource "aws_wafv2_web_acl" "this" {
  #checkov:skip=CKV2_AWS_31:Logging a web ACL needs a Firehose or bucket of the caller's; its CloudWatch metrics are on.
  #checkov:skip=CKV_AWS_192:The origin runs no Java; the Log4j managed rule set does not apply.
  name        = var.name
  description = "image-origin: at most ${var.requests_per_window} requests per ${var.window_seconds} s per client IP."
  scope       = "CLOUDFRONT"
  tags        = var.tags

  default_action {
    allow {}
  }

  # The one-line text/plain shape every other error of the service has.
  custom_response_body {
    key          = "rate-limited"
    content      = "429 too many requests\n"
    content_type = "TEXT_PLAIN"
  }

  rule {
    name     = "rate-per-ip"
    priority = 0

    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = "rate-limited"
          response_header {
            name  = "Retry-After"
            value = tostring(var.window_seconds)
          }
        }
      }
    }

    statement {
      rate_based_statement {
        limit                 = var.requests_per_window
        evaluation_window_sec = var.window_seconds
        aggregate_key_type    = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-per-ip"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}
