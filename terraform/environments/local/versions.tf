terraform {
  required_version = ">= 1.9.0"

  required_providers {
    # The only provider this root uses, so it plans and applies on a machine
    # with no cloud account and no registry access (providers from a
    # filesystem mirror; see terraform/README.md).
    local = {
      source  = "hashicorp/local"
      version = "2.9.0"
    }
  }
}
