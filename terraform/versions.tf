terraform {
  # 1.5: `check` blocks and `import` blocks; everything else here is older.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # tests/deploy/test_terraform_cli.py validates and plans the module with 5.100. Nothing
      # here needs 6.x: the lambda:InvokeFunction grant for the function URL is written
      # without invoked_via_function_url, which only 6.x providers have (see function.tf).
      version = ">= 5.100"
    }
  }
}
