variable "region" {
  description = "AWS region for the buckets and functions (CloudFront itself is global)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as us-east-1."
  }
}

variable "name" {
  description = "Name prefix for the resources."
  type        = string
  default     = "image-origin"
}

variable "lambda_zip_path" {
  description = "Zip built by `image-origin package` (default: build/lambda.zip at the repository root)."
  type        = string
  default     = "../../../build/lambda.zip"
}

variable "rate_limit_per_5_minutes" {
  description = "Requests one client IP may make per 5 minutes before AWS WAF answers 429 (terraform/modules/rate-limit); null (the default) attaches no web ACL. A web ACL costs $5 a month, $1 per rule and $0.60 per million requests."
  type        = number
  default     = null
}

variable "signing_keys" {
  description = "Signed-URL secrets, key id => secret, for a policy with signing on (the module's signing_keys). Give it through TF_VAR_signing_keys or a *.auto.tfvars file that git ignores, never in a committed file."
  type        = map(string)
  default     = {}
  sensitive   = true
}
