terraform {
  required_version = ">= 1.9.0"

  required_providers {
    consul = {
      source  = "hashicorp/consul"
      version = "~> 2.21"
    }
  }
}
