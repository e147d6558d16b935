################################################################################
# General
################################################################################

variable "name" {
  description = "Name prefix for every resource this module creates (function names, queue names, CloudFront policies, bucket prefixes)."
  type        = string
  default     = "image-origin"

  validation {
    # Bucket prefixes allow lowercase only. The AWS provider caps bucket_prefix at 37
    # characters and "-originals-" takes 11, so 26 is the longest name every plan accepts
    # (IAM name_prefix, capped at 38, would allow 30).
    condition     = can(regex("^[a-z][a-z0-9-]{1,25}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must be 2-26 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Storage
################################################################################

variable "create_originals_bucket" {
  description = "Create the originals bucket. Set false to put an existing bucket (originals_bucket_name) behind the CDN; the module then only grants read access to it and, when enable_events is true, manages its event notifications."
  type        = bool
  default     = true
}

variable "originals_bucket_name" {
  description = "Name of the originals bucket: required when create_originals_bucket is false (an existing bucket in the same account and region); optional otherwise (null: a name is generated from var.name)."
  type        = string
  default     = null

  validation {
    condition     = var.originals_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.originals_bucket_name))
    error_message = "originals_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "originals_kms_key_arn" {
  description = "KMS key ARN that encrypts an existing originals bucket (SSE-KMS); the functions are granted kms:Decrypt on it. Null when the bucket uses SSE-S3 (the module's own bucket does)."
  type        = string
  default     = null

  validation {
    condition     = var.originals_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.originals_kms_key_arn))
    error_message = "originals_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "originals_versioning" {
  description = "Enable versioning on the module's originals bucket (recovers overwritten or deleted originals; costs the storage of old versions)."
  type        = bool
  default     = true
}

variable "derived_bucket_name" {
  description = "Name of the derived (cache) bucket; null: a name is generated from var.name."
  type        = string
  default     = null

  validation {
    condition     = var.derived_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.derived_bucket_name))
    error_message = "derived_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "derived_expiration_days" {
  description = "Days after which derived objects expire from the derived bucket. They are regenerated on the next miss, so this bounds storage for variants nobody asks for any more."
  type        = number
  default     = 30

  validation {
    condition     = var.derived_expiration_days >= 1 && var.derived_expiration_days <= 3650 && floor(var.derived_expiration_days) == var.derived_expiration_days
    error_message = "derived_expiration_days must be a whole number of days between 1 and 3650."
  }
}

variable "force_destroy_originals" {
  description = "Let terraform destroy delete the module's originals bucket even when it still holds objects. The derived bucket is a cache and is always force-destroyable."
  type        = bool
  default     = false
}

################################################################################
# Lambda function (origin)
################################################################################

variable "lambda_zip_path" {
  description = "Path to the deployment zip built by `image-origin package` (for example build/lambda.zip); its hash triggers redeployment."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must point to a .zip file."
  }
}

variable "lambda_runtime" {
  description = "Lambda Python runtime; must match the --python the zip was built for."
  type        = string
  default     = "python3.13"

  validation {
    condition     = can(regex("^python3\\.(1[3-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be python3.13 or newer."
  }
}

variable "lambda_architecture" {
  description = "Lambda instruction set; must match the --arch the zip was built for (x86_64 runs the SIMD resizer; arm64 is 20% cheaper per GB-second but resizes with Pillow's scalar code)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the origin function in MB. 1769 MB is where Lambda gives one full vCPU; the pipeline is single-threaded except AVIF encoding (which uses a second vCPU when it has one), so more memory mostly costs more. See docs/deploy.md, section Memory and timeout."
  type        = number
  default     = 1769

  validation {
    condition     = var.lambda_memory_size >= 512 && var.lambda_memory_size <= 10240 && floor(var.lambda_memory_size) == var.lambda_memory_size
    error_message = "lambda_memory_size must be a whole number of MB between 512 (decoding needs headroom) and 10240."
  }
}

variable "lambda_timeout" {
  description = "Timeout of the origin function in seconds. CloudFront's origin read timeout is set 2 s above it, so a slow transform ends as a Lambda error rather than a CloudFront 504."
  type        = number
  default     = 30

  validation {
    condition     = var.lambda_timeout >= 3 && var.lambda_timeout <= 58 && floor(var.lambda_timeout) == var.lambda_timeout
    error_message = "lambda_timeout must be whole seconds between 3 and 58 (CloudFront's origin read timeout is at most 60 s without a quota increase)."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions for the origin function: the hard ceiling on origin spend (each busy slot costs at most ~$0.55 an hour, docs/cost.md); null leaves it unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency, false)
    error_message = "reserved_concurrency must be null or a whole number >= 1 (0 would throttle every request)."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

################################################################################
# Settings passed to the functions (origin_handler/settings.py)
################################################################################

variable "browser_max_age" {
  description = "Cache-Control max-age for browsers, in seconds (BROWSER_MAX_AGE)."
  type        = number
  default     = 86400

  validation {
    condition     = var.browser_max_age >= 0 && var.browser_max_age <= 31536000 && floor(var.browser_max_age) == var.browser_max_age
    error_message = "browser_max_age must be whole seconds between 0 and 31536000 (one year)."
  }
}

variable "cdn_max_age" {
  description = "s-maxage for CloudFront, in seconds (CDN_MAX_AGE); also the cache policy's default and maximum TTL."
  type        = number
  default     = 31536000

  validation {
    condition     = var.cdn_max_age >= 1 && var.cdn_max_age <= 31536000 && floor(var.cdn_max_age) == var.cdn_max_age
    error_message = "cdn_max_age must be whole seconds between 1 and 31536000 (one year)."
  }
}

variable "not_found_max_age" {
  description = "How long a 404 for a missing original may be cached, in seconds (NOT_FOUND_MAX_AGE)."
  type        = number
  default     = 60

  validation {
    condition     = var.not_found_max_age >= 0 && var.not_found_max_age <= 86400 && floor(var.not_found_max_age) == var.not_found_max_age
    error_message = "not_found_max_age must be whole seconds between 0 and 86400."
  }
}

variable "jpeg_background" {
  description = "Colour that transparent pixels are flattened onto for JPEG output (JPEG_BACKGROUND), as #rrggbb."
  type        = string
  default     = "#ffffff"

  validation {
    condition     = can(regex("^#?[0-9a-fA-F]{6}$", var.jpeg_background))
    error_message = "jpeg_background must be a hex colour like #ffffff."
  }
}

variable "max_source_bytes" {
  description = "Largest original, in bytes, the function will download and decode (MAX_SOURCE_BYTES)."
  type        = number
  default     = 52428800

  validation {
    condition     = var.max_source_bytes >= 1024 && var.max_source_bytes <= 1073741824 && floor(var.max_source_bytes) == var.max_source_bytes
    error_message = "max_source_bytes must be a whole number between 1024 and 1073741824 (1 GiB)."
  }
}

variable "max_source_pixels" {
  description = "Largest original, in pixels (width x height from the header), that will be decoded (MAX_SOURCE_PIXELS). Memory grows with it: 100 MP of RGBA is 400 MB before resizing."
  type        = number
  default     = 100000000

  validation {
    condition     = var.max_source_pixels >= 1000000 && var.max_source_pixels <= 250000000 && floor(var.max_source_pixels) == var.max_source_pixels
    error_message = "max_source_pixels must be a whole number between 1000000 and 250000000 (250 MP of RGBA is 1 GB decoded; raise lambda_memory_size with it)."
  }
}

variable "max_frames" {
  description = "Most frames an animated original may have before it is rendered as a still (MAX_FRAMES)."
  type        = number
  default     = 100

  validation {
    condition     = var.max_frames >= 1 && var.max_frames <= 10000 && floor(var.max_frames) == var.max_frames
    error_message = "max_frames must be a whole number between 1 and 10000."
  }
}

variable "max_animated_pixels" {
  description = "Source pixels summed over all frames an animation may have and stay animated (MAX_ANIMATED_PIXELS); every frame is decoded at full size, so this bounds the work."
  type        = number
  default     = 100000000

  validation {
    condition     = var.max_animated_pixels >= 1000000 && var.max_animated_pixels <= 1000000000 && floor(var.max_animated_pixels) == var.max_animated_pixels
    error_message = "max_animated_pixels must be a whole number between 1000000 and 1000000000."
  }
}

variable "max_response_bytes" {
  description = "Largest body the function answers inline (MAX_RESPONSE_BYTES); bigger derived objects are stored and answered with a redirect. A function URL answer is at most 6 MB including base64."
  type        = number
  default     = 6291456

  validation {
    condition     = var.max_response_bytes >= 65536 && var.max_response_bytes <= 6291456 && floor(var.max_response_bytes) == var.max_response_bytes
    error_message = "max_response_bytes must be a whole number between 65536 and 6291456 (6 MiB, the function URL limit)."
  }
}

variable "storage_budget" {
  description = "Time budget of the functions' S3 calls (S3_CONNECT_TIMEOUT_MS, S3_READ_TIMEOUT_MS, S3_MAX_ATTEMPTS, S3_DERIVED_READ_TIMEOUT_MS, STORAGE_RESERVE_MS; docs/deploy.md, Settings): per-attempt timeouts in ms, attempts per call, and the ms kept back from the invocation's remaining time after which no S3 attempt starts. The reserve must exceed connect + read timeout, so a stalled S3 ends as a 503 before the Lambda timeout."
  type = object({
    connect_timeout_ms      = optional(number, 1000)
    read_timeout_ms         = optional(number, 2000)
    max_attempts            = optional(number, 3)
    derived_read_timeout_ms = optional(number, 1000)
    reserve_ms              = optional(number, 5000)
  })
  default = {}

  validation {
    condition = alltrue([
      for v in [var.storage_budget.connect_timeout_ms, var.storage_budget.read_timeout_ms, var.storage_budget.derived_read_timeout_ms] :
      v >= 1 && v <= 60000 && floor(v) == v
    ]) && var.storage_budget.max_attempts >= 1 && var.storage_budget.max_attempts <= 10 && floor(var.storage_budget.max_attempts) == var.storage_budget.max_attempts && floor(var.storage_budget.reserve_ms) == var.storage_budget.reserve_ms && var.storage_budget.reserve_ms > var.storage_budget.connect_timeout_ms + var.storage_budget.read_timeout_ms
    error_message = "storage_budget: timeouts must be whole ms between 1 and 60000, max_attempts a whole number from 1 to 10, and reserve_ms a whole number above connect_timeout_ms + read_timeout_ms."
  }
}

################################################################################
# CDN
################################################################################

variable "price_class" {
  description = "CloudFront price class: which edge locations serve the distribution."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "aliases" {
  description = "Alternate domain names (CNAMEs) for the distribution, for example [\"cdn.example.com\"]. Needs acm_certificate_arn."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.aliases : can(regex("^(\\*\\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", a))])
    error_message = "Every alias must be a lowercase DNS name (optionally starting with *.)."
  }
}

variable "acm_certificate_arn" {
  description = "ACM certificate (in us-east-1) covering the aliases; null uses the *.cloudfront.net certificate."
  type        = string
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate ARN in us-east-1 (CloudFront only reads certificates there)."
  }
}

variable "cors_allowed_origins" {
  description = "Origins allowed to read images with CORS (GET, HEAD and the OPTIONS preflight): [\"*\"] (the default: the images are public and no credentials are allowed) or a list such as [\"https://www.example.com\"]; empty sends no CORS headers. Needed for <img crossorigin>, canvas, WebGL and fetch()."
  type        = list(string)
  default     = ["*"]

  validation {
    condition     = alltrue([for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://[^/]+$", o))])
    error_message = "Every CORS origin must be \"*\" or a scheme and host without a path, like https://www.example.com."
  }
}

variable "access_logs_bucket" {
  description = "Domain name of an S3 bucket for CloudFront standard access logs (for example my-logs.s3.amazonaws.com; the bucket must have ACLs enabled); null turns access logs off."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_bucket == null || can(regex("\\.s3(\\.[a-z0-9-]+)?\\.amazonaws\\.com$", var.access_logs_bucket))
    error_message = "access_logs_bucket must be a bucket domain name ending in .s3.amazonaws.com (or .s3.<region>.amazonaws.com)."
  }
}

variable "access_logs_prefix" {
  description = "Key prefix for CloudFront access logs in access_logs_bucket."
  type        = string
  default     = "cloudfront/"
}

variable "web_acl_id" {
  description = "ARN of an AWS WAFv2 web ACL (scope CLOUDFRONT) to attach to the distribution; null attaches none."
  type        = string
  default     = null

  validation {
    condition     = var.web_acl_id == null || can(regex("^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/.+$", var.web_acl_id))
    error_message = "web_acl_id must be a WAFv2 web ACL ARN with scope CLOUDFRONT (arn:aws:wafv2:us-east-1:<account>:global/webacl/...)."
  }
}

################################################################################
# Signed URLs (origin_handler/policy.json "signing": {"mode": ...})
################################################################################

variable "signing_keys" {
  description = "Secrets for signed URLs, key id => secret (docs/signed-urls.md; `image-origin sign --new-secret` makes one). Used only when origin_handler/policy.json has signing.mode optional or required: each goes into the edge's CloudFront KeyValueStore as signing-key-<id> and, as SIGNING_KEYS, into the origin function's environment. Two keys are the rotation case (docs/deploy.md, Signed URLs). Pass it through TF_VAR_signing_keys or a tfvars file kept out of git."
  type        = map(string)
  default     = {}
  sensitive   = true

  validation {
    condition     = length(var.signing_keys) <= 4
    error_message = "signing_keys may hold at most 4 keys (two are the rotation case)."
  }

  validation {
    # The key id travels in every signed URL (s=<key id>.<mac>) and names the store's key.
    condition     = alltrue([for id in keys(var.signing_keys) : can(regex("^[A-Za-z0-9_-]{1,32}$", id))])
    error_message = "Every signing_keys key id must be 1-32 characters of A-Z a-z 0-9 _ -."
  }

  validation {
    # Printable ASCII: the edge and the origin then hash the same bytes, and a newline read
    # from a file with the secret cannot slip in. 128 keeps 4 keys well inside Lambda's 4 KB
    # of environment.
    condition     = alltrue([for secret in values(var.signing_keys) : can(regex("^[!-~]{32,128}$", secret))])
    error_message = "Every signing_keys secret must be 32-128 printable ASCII characters without spaces (image-origin sign --new-secret makes a 43-character one)."
  }
}

################################################################################
# Events path (originals changed -> purge, invalidate, warm)
################################################################################

variable "enable_events" {
  description = "Wire originals bucket events (ObjectCreated/ObjectRemoved) through SQS, with a dead-letter queue, to the events function (origin_handler.lifecycle.lambda_function.lambda_handler), which purges stale derived objects, invalidates CloudFront and optionally pre-generates variants. For an existing originals bucket this replaces its whole S3 event notification configuration."
  type        = bool
  default     = true
}

variable "events_memory_size" {
  description = "Memory of the events function in MB; it transforms when warm_widths is set, so it gets the same one-vCPU default as the origin function."
  type        = number
  default     = 1769

  validation {
    condition     = var.events_memory_size >= 256 && var.events_memory_size <= 10240 && floor(var.events_memory_size) == var.events_memory_size
    error_message = "events_memory_size must be a whole number of MB between 256 and 10240."
  }
}

variable "events_timeout" {
  description = "Timeout of the events function in seconds; the queue's visibility timeout is six times this, as AWS recommends for SQS event sources. With warming on, one batch renders up to events_batch_size x len(warm_widths) x len(warm_formats) variants: size both together."
  type        = number
  default     = 300

  validation {
    condition     = var.events_timeout >= 10 && var.events_timeout <= 900 && floor(var.events_timeout) == var.events_timeout
    error_message = "events_timeout must be whole seconds between 10 and 900."
  }
}

variable "events_batch_size" {
  description = "Most SQS messages (S3 events) handed to the events function per invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.events_batch_size >= 1 && var.events_batch_size <= 100 && floor(var.events_batch_size) == var.events_batch_size
    error_message = "events_batch_size must be a whole number between 1 and 100."
  }
}

variable "events_batching_window_seconds" {
  description = "How long the event source mapping may wait to fill a batch, in seconds (coalesces bursts of uploads into fewer invalidations)."
  type        = number
  default     = 5

  validation {
    condition     = var.events_batching_window_seconds >= 0 && var.events_batching_window_seconds <= 300 && floor(var.events_batching_window_seconds) == var.events_batching_window_seconds
    error_message = "events_batching_window_seconds must be whole seconds between 0 and 300."
  }
}

variable "events_maximum_concurrency" {
  description = "Most concurrent events-function invocations the SQS event source may start (keeps bulk uploads from starving the origin function)."
  type        = number
  default     = 5

  validation {
    condition     = var.events_maximum_concurrency >= 2 && var.events_maximum_concurrency <= 1000 && floor(var.events_maximum_concurrency) == var.events_maximum_concurrency
    error_message = "events_maximum_concurrency must be a whole number between 2 and 1000."
  }
}

variable "events_max_receive_count" {
  description = "Deliveries of one message before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.events_max_receive_count >= 1 && var.events_max_receive_count <= 1000 && floor(var.events_max_receive_count) == var.events_max_receive_count
    error_message = "events_max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "warm_widths" {
  description = "Widths the events function pre-generates when an original is created (WARM_WIDTHS); empty disables warming."
  type        = list(number)
  default     = []

  validation {
    condition     = alltrue([for w in var.warm_widths : w >= 1 && w <= 10000 && floor(w) == w])
    error_message = "warm_widths must be whole numbers between 1 and 10000 (and should be widths from policy.json)."
  }
}

variable "warm_formats" {
  description = "Formats the events function pre-generates for each warm width (WARM_FORMATS). \"auto\" = the negotiated variants browsers actually request (auto-avif, auto-webp, auto-orig); bare avif/webp/jpeg/png are the explicit ?format= variants."
  type        = list(string)
  default     = ["auto"]

  validation {
    condition     = alltrue([for f in var.warm_formats : contains(["auto", "auto-avif", "auto-webp", "auto-orig", "avif", "webp", "jpeg", "png"], f)])
    error_message = "warm_formats may contain only auto, auto-avif, auto-webp, auto-orig, avif, webp, jpeg and png."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace for the metrics embedded in each request's log line (EMF: duration and bytes per source rendered/derived/error). Empty turns them off."
  type        = string
  default     = "ImageOrigin"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{0,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be up to 255 characters of letters, digits and . _ / # : - and must not start with AWS/."
  }
}

variable "origin_shield_region" {
  description = "AWS Region for CloudFront Origin Shield in front of both origins (e.g. the stack's own region), or null for none. With it, a variant missed by several regional edge caches is rendered once; it adds a per-request charge for requests that reach the shield."
  type        = string
  default     = null

  validation {
    condition     = var.origin_shield_region == null || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.origin_shield_region))
    error_message = "origin_shield_region must be an AWS Region code such as eu-west-1, or null."
  }
}
