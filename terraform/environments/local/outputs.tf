output "edge_addresses" {
  description = "Where players connect to each region's edge, by region."
  value       = module.region_config.edge_addresses
}

output "global_entry" {
  description = "The one name players use. Locally there is no anycast entry: each region's edge is connected to directly (edge_addresses); cloud roots output their accelerator here."
  value       = null
}

output "env_files" {
  description = "Each region's rendered edge environment file, by region."
  value       = module.region_config.env_files
}

output "inventory_dir" {
  description = "The rendered Ansible inventory (ansible-playbook -i)."
  value       = module.region_config.inventory_dir
}
