variable "output_dir" {
  description = "Where the rendered files go: env/<region>.env and the Ansible inventory under ansible/."
  type        = string
  default     = "rendered"
}

variable "regions" {
  description = "The local fleet's regions (see modules/region-config for every field). The defaults are the three loopback regions of the local fleet: eu, us and ap on 25565, 25575 and 25585, sharing one Consul agent, one Redis and central's OTLP receiver."
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
  default = {
    eu = {
      listen_address   = "127.0.0.1:25565"
      admin_address    = "127.0.0.1:9565"
      consul_http_addr = "127.0.0.1:8500"
      redis_url        = "redis://127.0.0.1:6379/0"
      otlp_endpoint    = "http://127.0.0.1:4318"
      edge_hosts       = { "eu-edge-1" = "127.0.0.1" }
    }
    us = {
      listen_address   = "127.0.0.1:25575"
      admin_address    = "127.0.0.1:9575"
      consul_http_addr = "127.0.0.1:8500"
      redis_url        = "redis://127.0.0.1:6379/0"
      otlp_endpoint    = "http://127.0.0.1:4318"
      edge_hosts       = { "us-edge-1" = "127.0.0.1" }
    }
    ap = {
      listen_address   = "127.0.0.1:25585"
      admin_address    = "127.0.0.1:9585"
      consul_http_addr = "127.0.0.1:8500"
      redis_url        = "redis://127.0.0.1:6379/0"
      otlp_endpoint    = "http://127.0.0.1:4318"
      edge_hosts       = { "ap-edge-1" = "127.0.0.1" }
    }
  }
}

variable "service_hosts" {
  description = "Ansible hosts of the shared services (central, consul, redis, jaeger, grafana): all on this machine by default."
  type = object({
    central = optional(map(string), {})
    consul  = optional(map(string), {})
    redis   = optional(map(string), {})
    jaeger  = optional(map(string), {})
    grafana = optional(map(string), {})
  })
  default = {
    central = { "local-central" = "127.0.0.1" }
    consul  = { "local-consul" = "127.0.0.1" }
    redis   = { "local-redis" = "127.0.0.1" }
    jaeger  = { "local-jaeger" = "127.0.0.1" }
    grafana = { "local-grafana" = "127.0.0.1" }
  }
}
