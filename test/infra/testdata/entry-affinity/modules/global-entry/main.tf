# Fixture entry-affinity (from the valid base): the global-entry invariants, and nothing more.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

variable "endpoints" {
  description = "One per region."
  type = map(object({
    region  = string
    nlb_arn = string
  }))
}

resource "aws_globalaccelerator_accelerator" "this" {
  name = "fixture"
}

resource "aws_globalaccelerator_listener" "players" {
  accelerator_arn = aws_globalaccelerator_accelerator.this.arn
  protocol        = "TCP"
  client_affinity = "NONE"

  port_range {
    from_port = 25565
    to_port   = 25565
  }
}

resource "aws_globalaccelerator_endpoint_group" "region" {
  for_each = var.endpoints

  listener_arn          = aws_globalaccelerator_listener.players.arn
  endpoint_group_region = each.value.region

  endpoint_configuration {
    endpoint_id                    = each.value.nlb_arn
    client_ip_preservation_enabled = true
  }
}

output "dns_name" {
  description = "The accelerator's name."
  value       = aws_globalaccelerator_accelerator.this.dns_name
}
