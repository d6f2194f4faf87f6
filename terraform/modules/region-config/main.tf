locals {
  # Ansible group names may hold only letters, digits and '_'. Each region
  # has its edges (edge_<r>), its Consul servers (consul_<r>) and a parent
  # of both (region_<r>) whose variables say which region they are in.
  region_suffix = { for name in keys(var.regions) : name => replace(name, "/[^A-Za-z0-9_]/", "_") }

  # One environment per region: what an edge there needs, and nothing that
  # belongs to one host (RUSTGUARD_INSTANCE_ID defaults to host name and
  # pid). Empty values are left out, so the edge keeps its defaults.
  edge_env = {
    for name, r in var.regions : name => merge(
      r.extra_env,
      { for k, v in {
        RUSTGUARD_REGION          = name
        RUSTGUARD_LISTEN_ADDR     = r.listen_address
        RUSTGUARD_ADMIN_ADDR      = r.admin_address
        RUSTGUARD_BACKEND_ADDR    = r.backend_address
        RUSTGUARD_BACKEND_SERVICE = r.consul_http_addr == "" ? "" : r.backend_service
        RUSTGUARD_TRUSTED_PROXIES = join(",", r.trusted_proxies)
        RUSTGUARD_REDIS_URL       = r.redis_url
        CONSUL_HTTP_ADDR          = r.consul_http_addr
        # Traces: the edge's OpenTelemetry SDK reads these itself. The
        # edge sets cloud.region from RUSTGUARD_REGION on its own (and
        # ignores it here), so only the environment is added.
        OTEL_SERVICE_NAME           = "rustguard-edge"
        OTEL_RESOURCE_ATTRIBUTES    = "deployment.environment.name=${var.environment}"
        OTEL_EXPORTER_OTLP_ENDPOINT = r.otlp_endpoint
      } : k => v if v != "" }
    )
  }

  # The environment file additionally names the Consul token file. The
  # Ansible role does not take it from here: it writes the token itself,
  # under its own root, and points the variable there.
  env_file_vars = {
    for name, env in local.edge_env : name => merge(env,
      var.regions[name].consul_token_file == "" ? {} : { CONSUL_HTTP_TOKEN_FILE = var.regions[name].consul_token_file }
    )
  }

  # KEY="value" lines, sorted: read the same way by systemd's
  # EnvironmentFile= and by sh (the variable validation keeps out every
  # character the two would read differently).
  env_files = {
    for name, env in local.env_file_vars : name => join("\n", concat(
      ["# RustGuard edge, region ${name} (${var.environment}). Rendered by terraform/modules/region-config; do not edit."],
      [for k in sort(keys(env)) : "${k}=\"${env[k]}\""],
      [""]
    ))
  }

  host_vars = var.local_connection ? { ansible_connection = "local" } : {}

  inventory = {
    all = {
      vars = merge(var.inventory_vars, { rustguard_environment = var.environment })
      children = merge(
        {
          edge = {
            children = {
              for name, r in var.regions : "edge_${local.region_suffix[name]}" => {
                hosts = { for host, addr in r.edge_hosts : host => merge({ ansible_host = addr }, local.host_vars) }
              }
            }
          }
          consul = {
            hosts = { for host, addr in var.service_hosts.consul : host => merge({ ansible_host = addr }, local.host_vars) }
            children = {
              for name, r in var.regions : "consul_${local.region_suffix[name]}" => {
                hosts = { for host, addr in r.consul_hosts : host => merge({ ansible_host = addr }, local.host_vars) }
              }
            }
          }
        },
        {
          for name in keys(var.regions) : "region_${local.region_suffix[name]}" => {
            children = {
              "edge_${local.region_suffix[name]}"   = {}
              "consul_${local.region_suffix[name]}" = {}
            }
          }
        },
        {
          for group, hosts in var.service_hosts : group => {
            hosts = { for host, addr in hosts : host => merge({ ansible_host = addr }, local.host_vars) }
          } if group != "consul"
        }
      )
    }
  }
}

resource "local_sensitive_file" "edge_env" {
  for_each = local.env_files

  filename             = "${var.output_dir}/env/${each.key}.env"
  content              = each.value
  file_permission      = "0640"
  directory_permission = "0755"
}

resource "local_file" "inventory" {
  filename             = "${var.output_dir}/ansible/hosts.yml"
  content              = "# Rendered by terraform/modules/region-config; do not edit.\n${yamlencode(local.inventory)}"
  file_permission      = "0644"
  directory_permission = "0755"
}

# Per region: which region its hosts are in (and which Consul servers
# they join), and its edges' environment, which the rustguard_edge role
# writes to edge.env.
resource "local_file" "region_group_vars" {
  for_each = var.regions

  filename = "${var.output_dir}/ansible/group_vars/region_${local.region_suffix[each.key]}.yml"
  content = "# Rendered by terraform/modules/region-config; do not edit.\n${yamlencode({
    rustguard_region        = each.key
    consul_agent_join_group = length(each.value.consul_hosts) > 0 ? "consul_${local.region_suffix[each.key]}" : "consul"
  })}"
  file_permission      = "0644"
  directory_permission = "0755"
}

resource "local_sensitive_file" "edge_group_vars" {
  for_each = var.regions

  filename = "${var.output_dir}/ansible/group_vars/edge_${local.region_suffix[each.key]}.yml"
  content = "# Rendered by terraform/modules/region-config; do not edit.\n${yamlencode({
    rustguard_edge_env = local.edge_env[each.key]
  })}"
  file_permission      = "0640"
  directory_permission = "0755"
}
