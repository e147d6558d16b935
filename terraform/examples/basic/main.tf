# Smallest deployment: new originals bucket, *.cloudfront.net domain, events path on.
#
#   image-origin package --arch x86_64 --python 3.13 -o build/lambda.zip   (from the repo root)
#   terraform -chdir=terraform/examples/basic init
#   terraform -chdir=terraform/examples/basic apply

provider "aws" {
  region = var.region
}

# Web ACLs for CloudFront are created in us-east-1, whatever var.region is.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}

module "rate_limit" {
  source = "../../modules/rate-limit"
  count  = var.rate_limit_per_5_minutes == null ? 0 : 1
  providers = {
    aws = aws.us_east_1
  }

  name                = "${var.name}-rate-limit"
  requests_per_window = var.rate_limit_per_5_minutes
  window_seconds      = 300
}

module "image_origin" {
  source = "../.."

  name            = var.name
  lambda_zip_path = var.lambda_zip_path
  web_acl_id      = one(module.rate_limit[*].web_acl_arn)

  # Signed URLs: used when origin_handler/policy.json has signing.mode optional or required
  # (docs/deploy.md, Signed URLs). Set it outside git, e.g.
  #   export TF_VAR_signing_keys='{"k1": "<image-origin sign --new-secret>"}'
  signing_keys = var.signing_keys

  tags = {
    Project = "image-origin"
  }
}
