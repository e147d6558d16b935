terraform {
  # 1.5: `check` blocks and `import` blocks; everything else here is older.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28 adds aws_lambda_permission.invoked_via_function_url, which scopes the
      # lambda:InvokeFunction grant that function URLs created since October 2025 need.
      version = ">= 6.28"
    }
  }
}
