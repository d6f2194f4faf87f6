terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    consul = {
      source  = "hashicorp/consul"
      version = "~> 2.21"
    }
    local = {
      source  = "hashicorp/local"
      version = "2.9.0"
    }
  }

  # State lives in S3 with a lock (partial configuration: bucket, key,
  # region and use_lockfile come from -backend-config at tofu init).
  backend "s3" {}
}

provider "aws" {
  # Where the provider starts; every regional resource names its own
  # region (provider 6), so one configuration serves every region.
  region = var.home_region

  default_tags {
    tags = merge(var.tags, { "rustguard:environment" = var.environment })
  }
}

# The primary datacenter's API; CONSUL_HTTP_TOKEN supplies a management
# token. Unused when manage_consul is false.
provider "consul" {
  address    = var.consul_address
  datacenter = var.consul_primary_datacenter
}
