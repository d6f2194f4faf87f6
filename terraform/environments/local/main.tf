# The local environment: the same region map as a cloud root, rendered into
# each region's edge environment file and an Ansible inventory whose hosts
# all run on this machine. It uses only the local provider, so make
# test-infra plans and applies it for real.
module "region_config" {
  source = "../../modules/region-config"

  environment      = "local"
  output_dir       = abspath(var.output_dir)
  regions          = var.regions
  service_hosts    = var.service_hosts
  local_connection = true
  # Everything on this machine talks over loopback, in one Consul
  # datacenter shared by the three regions.
  inventory_vars = {
    consul_agent_bind_addr  = "127.0.0.1"
    consul_agent_datacenter = "dc1"
  }
}
