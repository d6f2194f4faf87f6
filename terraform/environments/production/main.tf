# Production: every region's edges, one global entry in front of them, and
# (optionally) the Consul objects, all from one region map.

module "edge" {
  source   = "../../modules/edge-region"
  for_each = var.regions

  region             = each.value.aws_region
  rustguard_region   = each.key
  environment        = var.environment
  image              = var.edge_image
  edge_version       = var.edge_version
  vpc_id             = each.value.vpc_id
  lb_subnet_ids      = each.value.lb_subnet_ids
  task_subnet_ids    = each.value.task_subnet_ids
  consul             = each.value.consul
  backend_address    = each.value.backend_address
  redis_url          = each.value.redis_url
  otlp_endpoint      = each.value.otlp_endpoint
  secrets            = each.value.secrets
  extra_env          = each.value.extra_env
  min_instances      = each.value.min_instances
  max_instances      = each.value.max_instances
  cpu_target_percent = each.value.cpu_target_percent
  tags               = var.tags
}

module "global_entry" {
  source = "../../modules/global-entry"

  name = "rustguard-${var.environment}"
  # One endpoint group per region, each the region's load balancer.
  endpoints = {
    for name, edge in module.edge : name => {
      region                  = var.regions[name].aws_region
      nlb_arn                 = edge.nlb_arn
      traffic_dial_percentage = var.regions[name].traffic_dial_percentage
    }
  }
  dns  = var.dns
  tags = var.tags
}

module "consul_fleet" {
  source = "../../modules/consul-fleet"
  count  = var.manage_consul ? 1 : 0

  datacenters      = [for name, r in var.regions : coalesce(r.consul_datacenter, name)]
  backend_services = distinct([for r in values(var.regions) : r.consul.backend_service])
}

# Edges on plain VMs and the shared services are Ansible's: the same region
# map renders their environment and the inventory (ansible/README.md). VM
# edges use the Consul agent on their host (consul_agent role) and its
# token file, written by the rustguard_edge role.
module "region_config" {
  source = "../../modules/region-config"

  environment = var.environment
  output_dir  = abspath(var.rendered_dir)
  regions = {
    for name, r in var.regions : name => {
      listen_address    = "0.0.0.0:25565"
      admin_address     = "127.0.0.1:9565"
      backend_address   = r.backend_address
      backend_service   = r.consul.backend_service
      consul_http_addr  = "127.0.0.1:8500"
      consul_token_file = "/etc/rustguard/consul-token"
      redis_url         = r.redis_url
      otlp_endpoint     = r.otlp_endpoint
      extra_env         = r.extra_env
      edge_hosts        = r.vm_edge_hosts
      consul_hosts      = r.vm_consul_hosts
    }
  }
  service_hosts = var.service_hosts
}
