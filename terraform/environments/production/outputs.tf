output "global_entry" {
  description = "Where players connect: the hostname (the DNS record, or the accelerator's name) and the accelerator's anycast addresses, port 25565."
  value = {
    hostname     = module.global_entry.hostname
    ip_addresses = module.global_entry.ip_addresses
  }
}

output "edge_addresses" {
  description = "Each region's own way in (its load balancer, host:port), by region: for testing one region directly."
  value       = { for name, edge in module.edge : name => edge.player_address }
}

output "edge_static_ips" {
  description = "Each region's load balancer Elastic IPs, by region (empty unless enabled)."
  value       = { for name, edge in module.edge : name => edge.static_ips }
}

output "edge_log_groups" {
  description = "Each region's CloudWatch Logs group of edge logs, by region."
  value       = { for name, edge in module.edge : name => edge.log_group }
}

output "inventory_dir" {
  description = "The rendered Ansible inventory for VM edges and the shared services."
  value       = module.region_config.inventory_dir
}

output "consul_edge_token_accessor_id" {
  description = "Accessor ID of the edges' Consul token (null without manage_consul); the secret itself is only in state, see modules/consul-fleet."
  value       = var.manage_consul ? module.consul_fleet[0].edge_token_accessor_id : null
}
