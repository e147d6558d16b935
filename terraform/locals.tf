data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Originals: the module's own bucket, or an existing one named by the caller. The "" stands
  # in for a missing name only so that the ARN below and the policies can be evaluated: the
  # precondition on aws_lambda_function.origin then fails the plan with a message that says
  # what is missing (a null here would fail first, as a null in a string template).
  originals_bucket_name = (
    var.create_originals_bucket ? aws_s3_bucket.originals[0].id
    : var.originals_bucket_name == null ? "" : var.originals_bucket_name
  )
  originals_bucket_arn = "arn:${local.partition}:s3:::${local.originals_bucket_name}"

  # Origin ids inside the distribution.
  derived_origin_id  = "derived-s3"
  function_origin_id = "transform-lambda"
  origin_group_id    = "derived-then-transform"

  # A function URL looks like https://<id>.lambda-url.<region>.on.aws/ ; CloudFront wants the host.
  function_url_host = trimsuffix(trimprefix(aws_lambda_function_url.origin.function_url, "https://"), "/")

  # Settings shared by both functions (origin_handler/settings.py reads exactly these).
  common_environment = {
    ORIGINALS_BUCKET    = local.originals_bucket_name
    DERIVED_BUCKET      = aws_s3_bucket.derived.id
    BROWSER_MAX_AGE     = tostring(var.browser_max_age)
    CDN_MAX_AGE         = tostring(var.cdn_max_age)
    NOT_FOUND_MAX_AGE   = tostring(var.not_found_max_age)
    JPEG_BACKGROUND     = var.jpeg_background
    MAX_SOURCE_BYTES    = tostring(var.max_source_bytes)
    MAX_SOURCE_PIXELS   = tostring(var.max_source_pixels)
    MAX_FRAMES          = tostring(var.max_frames)
    MAX_ANIMATED_PIXELS = tostring(var.max_animated_pixels)
    MAX_RESPONSE_BYTES  = tostring(var.max_response_bytes)
    METRICS_NAMESPACE   = var.metrics_namespace
    # The request path's S3 time budget (origin_handler/settings.py, StorageBudget).
    S3_CONNECT_TIMEOUT_MS      = tostring(var.storage_budget.connect_timeout_ms)
    S3_READ_TIMEOUT_MS         = tostring(var.storage_budget.read_timeout_ms)
    S3_MAX_ATTEMPTS            = tostring(var.storage_budget.max_attempts)
    S3_DERIVED_READ_TIMEOUT_MS = tostring(var.storage_budget.derived_read_timeout_ms)
    STORAGE_RESERVE_MS         = tostring(var.storage_budget.reserve_ms)
  }

  # The origin function re-checks signatures (origin_handler/origin/signing.py) and so gets the
  # secrets too; the events function renders without a request and gets none. A for
  # expression rather than a conditional: the two branches' object types would differ.
  origin_environment = merge(local.common_environment, {
    for name, value in { SIGNING_KEYS = jsonencode(var.signing_keys) } : name => value if local.signing
  })

  # The events function also invalidates and pre-generates. DISTRIBUTION_ID is not given to
  # the origin function: the distribution depends on its URL, so that would be a cycle.
  events_environment = merge(local.common_environment, {
    DISTRIBUTION_ID = aws_cloudfront_distribution.this.id
    WARM_WIDTHS     = join(",", [for w in var.warm_widths : tostring(w)])
    WARM_FORMATS    = join(",", var.warm_formats)
  })

  # The CloudFront Function as built by cloudfront/build.mjs: the template with the one
  # policy file injected, minified (6.8 KB of the 10 KB limit). Committed, so plan and apply
  # need no node; cloudfront/test/build.test.mjs fails when it is stale.
  viewer_request_code = file("${path.module}/../cloudfront/viewer-request.min.js")

  # Signed URLs (docs/signed-urls.md). The policy is the one the build injected into the
  # function and `image-origin package` put into the zip; its signing.mode (off | optional |
  # required) decides whether the edge's KeyValueStore exists and the keys are deployed.
  policy       = jsondecode(file("${path.module}/../origin_handler/policy.json"))
  signing_mode = try(local.policy.signing.mode, "off")
  signing      = local.signing_mode != "off"
  # The mode the artefact was built for: build.mjs writes "// signing: <mode>" into its
  # leading comment lines. "" when there is none (an artefact built before signed URLs).
  viewer_request_signing = try(regex("^(?://[^\n]*\n)*?// signing: ([a-z]+)\n", local.viewer_request_code)[0], "")
  # The KeyValueStore key of each secret (signing.py KVS_PREFIX + key id).
  signing_kvs_prefix = "signing-key-"
  # Key ids are not secret (they are in every signed URL); for_each needs them unmarked.
  signing_key_ids = nonsensitive(toset(keys(var.signing_keys)))
}
