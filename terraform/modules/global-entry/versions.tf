terraform {
  required_version = ">= 1.9.0"

  required_providers {
    # Global Accelerator's API lives in us-west-2 whatever region the
    # provider is configured for; the provider sends it there itself.
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
