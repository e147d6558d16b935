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
