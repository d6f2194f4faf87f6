# Fixture base: the edge-region invariants, and nothing more.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "vpc_id" {
  description = "VPC."
  type        = string
}

locals {
  player_port = 25565
  trusted     = data.aws_vpc.this.cidr_block
  env = {
    RUSTGUARD_TRUSTED_PROXIES = local.trusted
  }
}

data "aws_vpc" "this" {
  region = var.region
  id     = var.vpc_id
}

resource "aws_lb" "players" {
  region             = var.region
  load_balancer_type = "network"
}

resource "aws_lb_target_group" "players" {
  region            = var.region
  port              = local.player_port
  protocol          = "TCP"
  proxy_protocol_v2 = true

  health_check {
    protocol = "HTTP"
    path     = "/readyz"
  }
}

resource "aws_lb_listener" "players" {
  region            = var.region
  load_balancer_arn = aws_lb.players.arn
  port              = 25565
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.players.arn
  }
}

resource "aws_ecs_task_definition" "edge" {
  region                = var.region
  family                = "edge"
  container_definitions = jsonencode([{ environment = local.env }])
}

output "nlb_arn" {
  description = "The load balancer."
  value       = aws_lb.players.arn
}
