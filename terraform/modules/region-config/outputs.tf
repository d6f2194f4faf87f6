output "env_files" {
  description = "Path of each region's edge environment file, by region."
  value       = { for name, f in local_sensitive_file.edge_env : name => f.filename }
}

output "inventory_dir" {
  description = "The rendered Ansible inventory directory (hosts.yml and group_vars/): pass it to ansible-playbook -i."
  value       = dirname(local_file.inventory.filename)
}

output "edge_addresses" {
  description = "Each region's edge player listener (listen_address), by region."
  value       = { for name, r in var.regions : name => r.listen_address }
}

output "edge_env" {
  description = "Each region's edge environment, by region. Sensitive: a Redis URL may carry a password."
  value       = local.edge_env
  sensitive   = true
}
