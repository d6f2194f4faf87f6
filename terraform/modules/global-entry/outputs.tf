output "ip_addresses" {
  description = "The accelerator's static anycast addresses: what players connect to, from anywhere, on port 25565."
  value       = flatten([for s in aws_globalaccelerator_accelerator.this.ip_sets : s.ip_addresses])
}

output "dns_name" {
  description = "The accelerator's own DNS name (IPv4)."
  value       = aws_globalaccelerator_accelerator.this.dns_name
}

output "hostname" {
  description = "The name players use: the DNS record when one was asked for, the accelerator's DNS name otherwise."
  value       = var.dns == null ? aws_globalaccelerator_accelerator.this.dns_name : var.dns.name
}

output "accelerator_arn" {
  description = "ARN of the accelerator."
  value       = aws_globalaccelerator_accelerator.this.arn
}

output "endpoint_group_arns" {
  description = "ARN of each region's endpoint group, by region key."
  value       = { for k, g in aws_globalaccelerator_endpoint_group.region : k => g.arn }
}
