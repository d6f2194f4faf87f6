variable "environment" {
  description = "Name of the deployment (local, staging, production): the deployment.environment.name resource attribute of every trace and the Ansible inventory's name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.environment))
    error_message = "The environment is 1 to 32 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "output_dir" {
  description = "Directory the files are written to: env/<region>.env for each region, and ansible/ (hosts.yml plus group_vars/) as an Ansible inventory. Created if missing."
  type        = string
}

variable "regions" {
  description = <<-EOT
    The fleet's regions, keyed by RustGuard region name (RUSTGUARD_REGION: metric label, log field, Consul meta). For each region:
    listen_address and admin_address are the edge's player and admin listeners; backend_address is the backend without Consul;
    consul_http_addr, redis_url and otlp_endpoint are the region's Consul agent, Redis and OTLP (central) endpoints, empty when the
    region has none; consul_token_file is where the Consul ACL token lies on the edge host (written by the rustguard_edge role);
    trusted_proxies are the CIDRs whose PROXY headers the edge trusts (the load balancers); extra_env adds RUSTGUARD_* or OTEL_*
    variables (docs/CONFIG.md); edge_hosts and consul_hosts name the Ansible hosts that run this region's edges and its
    Consul servers (name => address).
    Values end up in a systemd EnvironmentFile and are sourced by sh in tests, so they may not hold quotes, backslashes, '$',
    backticks or control characters; secrets (a Redis password, tokens) belong in files the roles write, not here.
  EOT
  type = map(object({
    listen_address    = optional(string, "0.0.0.0:25565")
    admin_address     = optional(string, "127.0.0.1:9565")
    backend_address   = optional(string, "")
    backend_service   = optional(string, "minecraft")
    consul_http_addr  = optional(string, "")
    consul_token_file = optional(string, "")
    redis_url         = optional(string, "")
    otlp_endpoint     = optional(string, "")
    trusted_proxies   = optional(list(string), [])
    extra_env         = optional(map(string), {})
    edge_hosts        = optional(map(string), {})
    consul_hosts      = optional(map(string), {})
  }))

  validation {
    condition     = length(var.regions) > 0 && alltrue([for name in keys(var.regions) : can(regex("^[A-Za-z0-9._-]{1,64}$", name))])
    error_message = "At least one region; a region name is 1 to 64 letters, digits, '.', '_' or '-' (as RUSTGUARD_REGION requires)."
  }

  validation {
    condition     = length(distinct([for name in keys(var.regions) : replace(name, "/[^A-Za-z0-9_]/", "_")])) == length(var.regions)
    error_message = "Two region names differ only in '.', '-' or '_': their Ansible groups (edge_<region> and so on, with those mapped to '_') would be the same."
  }

  validation {
    condition = alltrue(flatten([
      for r in values(var.regions) : [
        for v in concat(
          [r.listen_address, r.admin_address, r.backend_address, r.backend_service, r.consul_http_addr, r.consul_token_file, r.redis_url, r.otlp_endpoint],
          r.trusted_proxies, values(r.extra_env)
        ) : !can(regex("[\"'\\\\$`[:cntrl:]]", v))
      ]
    ]))
    error_message = "Environment values may not contain quotes, backslashes, '$', backticks or control characters (they are written to an EnvironmentFile)."
  }

  validation {
    condition = alltrue(flatten([
      for r in values(var.regions) : [
        for k in keys(r.extra_env) : can(regex("^(RUSTGUARD|OTEL)_[A-Z0-9_]+$", k)) && !contains(["RUSTGUARD_CONFIG", "RUSTGUARD_REGION", "RUSTGUARD_TRUSTED_PROXIES"], k)
      ]
    ]))
    error_message = "extra_env keys are RUSTGUARD_* or OTEL_* variables; RUSTGUARD_CONFIG is refused (edges are configured by environment only), and the region and trusted proxies have their own fields."
  }
}

variable "service_hosts" {
  description = "Ansible hosts for the fleet's shared services, by group (central, consul, redis, jaeger, grafana), each host name => address. Groups left out are empty. Consul servers of one region go in that region's consul_hosts instead; these are for a fleet with one datacenter."
  type = object({
    central = optional(map(string), {})
    consul  = optional(map(string), {})
    redis   = optional(map(string), {})
    jaeger  = optional(map(string), {})
    grafana = optional(map(string), {})
  })
  default = {}
}

variable "inventory_vars" {
  description = "Variables for every host of the inventory (its all group), e.g. consul_agent_bind_addr. Rendered into hosts.yml, so no secrets."
  type        = map(string)
  default     = {}
}

variable "local_connection" {
  description = "Give every inventory host ansible_connection=local: the whole inventory runs on the machine that runs Ansible (the local environment and its tests)."
  type        = bool
  default     = false
}
