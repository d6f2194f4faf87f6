output "nlb_arn" {
  description = "ARN of the region's network load balancer: the global accelerator's endpoint for this region."
  value       = aws_lb.players.arn
}

output "nlb_dns_name" {
  description = "DNS name of the region's load balancer (a direct, region-pinned way in besides the global entry)."
  value       = aws_lb.players.dns_name
}

output "nlb_zone_id" {
  description = "Route 53 zone of the load balancer's DNS name, for alias records."
  value       = aws_lb.players.zone_id
}

output "player_address" {
  description = "host:port players can use to reach this region directly."
  value       = "${aws_lb.players.dns_name}:${aws_lb_listener.players.port}"
}

output "static_ips" {
  description = "The load balancer's Elastic IPs (empty unless static_ips)."
  value       = aws_eip.lb[*].public_ip
}

output "trusted_proxies" {
  description = "What RUSTGUARD_TRUSTED_PROXIES is set to: the VPC's IPv4 ranges."
  value       = local.trusted_proxies
}

output "ecs_cluster" {
  description = "Name of the region's ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service" {
  description = "Name of the edges' ECS service."
  value       = aws_ecs_service.edge.name
}

output "log_group" {
  description = "CloudWatch Logs group of the edges (and of their Consul agents)."
  value       = aws_cloudwatch_log_group.edge.name
}

output "task_security_group_id" {
  description = "Security group of the edge tasks: allow it in the backends', Consul's, Redis' and the OTLP endpoint's rules."
  value       = aws_security_group.task.id
}
