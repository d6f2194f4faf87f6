# Players reach the nearest healthy region through one name: two anycast
# addresses announced from every AWS edge location, each player's traffic
# carried to the closest region that has healthy edges.

locals {
  player_port = 25565

  # How often and after how many failures an endpoint counts as unhealthy.
  # These apply to EC2 and Elastic IP endpoints; for load balancer
  # endpoints the accelerator follows the load balancer's own target
  # health (the edges' /readyz), so a region whose edges all fail drops
  # out of the accelerator by itself.
  health_check_interval  = 10
  health_check_threshold = 3
}

resource "aws_globalaccelerator_accelerator" "this" {
  name            = var.name
  ip_address_type = var.ip_address_type
  enabled         = true

  attributes {
    flow_logs_enabled   = var.flow_logs_bucket != ""
    flow_logs_s3_bucket = var.flow_logs_bucket == "" ? null : var.flow_logs_bucket
    flow_logs_s3_prefix = var.flow_logs_bucket == "" ? null : "global-accelerator/${var.name}/"
  }

  tags = var.tags
}

resource "aws_globalaccelerator_listener" "players" {
  accelerator_arn = aws_globalaccelerator_accelerator.this.arn
  protocol        = "TCP"
  # One player's connections all go to the same endpoint: reconnects after
  # a limbo verification or a Transfer land on the edge that verified them.
  client_affinity = "SOURCE_IP"

  port_range {
    from_port = 25565
    to_port   = 25565
  }
}

resource "aws_globalaccelerator_endpoint_group" "region" {
  for_each = var.endpoints

  listener_arn                  = aws_globalaccelerator_listener.players.arn
  endpoint_group_region         = each.value.region
  traffic_dial_percentage       = each.value.traffic_dial_percentage
  health_check_protocol         = "TCP"
  health_check_port             = local.player_port
  health_check_interval_seconds = local.health_check_interval
  threshold_count               = local.health_check_threshold

  endpoint_configuration {
    endpoint_id = each.value.nlb_arn
    weight      = each.value.weight
    # The load balancer sees the player's address, and its PROXY v2
    # header carries it to the edge (needs a security group on the load
    # balancer, which edge-region gives it).
    client_ip_preservation_enabled = true
  }
}

resource "aws_route53_record" "ipv4" {
  count = var.dns == null ? 0 : 1

  zone_id = var.dns.zone_id
  name    = var.dns.name
  type    = "A"

  alias {
    name                   = aws_globalaccelerator_accelerator.this.dns_name
    zone_id                = aws_globalaccelerator_accelerator.this.hosted_zone_id
    evaluate_target_health = false
  }
}

resource "aws_route53_record" "ipv6" {
  count = var.dns != null && var.ip_address_type == "DUAL_STACK" ? 1 : 0

  zone_id = var.dns.zone_id
  name    = var.dns.name
  type    = "AAAA"

  alias {
    name                   = aws_globalaccelerator_accelerator.this.dual_stack_dns_name
    zone_id                = aws_globalaccelerator_accelerator.this.hosted_zone_id
    evaluate_target_health = false
  }
}
