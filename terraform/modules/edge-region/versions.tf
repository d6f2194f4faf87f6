terraform {
  # OpenTofu 1.9+ or Terraform 1.9+: optional() defaults and validations
  # that read more than their own variable.
  required_version = ">= 1.9.0"

  required_providers {
    # Provider 6 has a region argument on every regional resource, so one
    # provider configuration serves every region (module for_each).
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
