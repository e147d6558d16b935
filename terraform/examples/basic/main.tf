# Smallest deployment: new originals bucket, *.cloudfront.net domain, events path on.
#
#   image-origin package --arch x86_64 --python 3.13 -o build/lambda.zip   (from the repo root)
#   terraform -chdir=terraform/examples/basic init
#   terraform -chdir=terraform/examples/basic apply

provider "aws" {
  region = var.region
}

module "image_origin" {
  source = "../.."

  name            = var.name
  lambda_zip_path = var.lambda_zip_path

  tags = {
    Project = "image-origin"
  }
}
