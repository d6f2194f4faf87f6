terraform {
  required_version = ">= 1.9.0"

  required_providers {
    # Only the local provider: this module is planned and applied for real
    # by make test-infra, where no other provider can be installed.
    local = {
      source  = "hashicorp/local"
      version = "2.9.0"
    }
  }
}
