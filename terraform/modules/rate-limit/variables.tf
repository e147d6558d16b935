variable "name" {
  description = "Name of the web ACL and its metrics (letters, digits, - and _; 1–128 characters)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.name))
    error_message = "name must be 1-128 letters, digits, hyphens or underscores."
  }
}

variable "requests_per_window" {
  description = "Requests one client IP may make per evaluation window before it gets 429s; cache hits count too, so leave room for a page of srcsets (a gallery of 60 images at two densities is ~120 requests)."
  type        = number
  default     = 3000

  validation {
    condition     = try(var.requests_per_window >= 10 && var.requests_per_window <= 2000000000 && floor(var.requests_per_window) == var.requests_per_window, false)
    error_message = "requests_per_window must be a whole number from 10 to 2,000,000,000 (AWS WAF's range for a rate-based rule)."
  }
}

variable "window_seconds" {
  description = "Evaluation window of the rate-based rule: 60, 120, 300 or 600 seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 120, 300, 600], var.window_seconds)
    error_message = "window_seconds must be 60, 120, 300 or 600."
  }
}

variable "tags" {
  description = "Tags for the web ACL."
  type        = map(string)
  default     = {}
}
