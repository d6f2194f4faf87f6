variable "environment" {
  description = "Deployment name: part of resource names, a tag, and the deployment.environment.name trace attribute."
  type        = string
  default     = "production"
}

variable "home_region" {
  description = "The AWS region the provider is configured for (resources name their own region)."
  type        = string
  default     = "eu-central-1"
}

variable "edge_image" {
  description = "Image repository of rustguard-edge, without a tag (one repository replicated to every region, or one per region through extra images)."
  type        = string
}

variable "edge_version" {
  description = "The edge release every region runs: the image tag (e.g. v1.4.0)."
  type        = string
}

variable "regions" {
  description = <<-EOT
    The fleet, one entry per RustGuard region (the key: short, e.g. eu). aws_region, vpc_id, lb_subnet_ids and task_subnet_ids
    place the region's edges; consul_datacenter (default: the key), consul (see modules/edge-region), redis_url, otlp_endpoint,
    secrets (variable => secret ARN) and extra_env configure them; min_instances, max_instances and cpu_target_percent bound
    autoscaling; traffic_dial_percentage drains the region from the global entry by hand; vm_edge_hosts and vm_consul_hosts list
    edges and Consul servers run on plain VMs by Ansible in that region (host name => address), which get the same settings
    through the rendered inventory.
  EOT
  type = map(object({
    aws_region        = string
    vpc_id            = string
    lb_subnet_ids     = list(string)
    task_subnet_ids   = list(string)
    consul_datacenter = optional(string)
    consul = optional(object({
      http_addr       = optional(string, "")
      backend_service = optional(string, "minecraft")
      agent = optional(object({
        image             = string
        datacenter        = string
        retry_join        = list(string)
        config_secret_arn = optional(string, "")
      }))
    }), {})
    backend_address         = optional(string, "")
    redis_url               = optional(string, "")
    otlp_endpoint           = optional(string, "")
    secrets                 = optional(map(string), {})
    extra_env               = optional(map(string), {})
    min_instances           = optional(number, 2)
    max_instances           = optional(number, 10)
    cpu_target_percent      = optional(number, 60)
    traffic_dial_percentage = optional(number, 100)
    vm_edge_hosts           = optional(map(string), {})
    vm_consul_hosts         = optional(map(string), {})
  }))
}

variable "dns" {
  description = "The players' DNS name for the global entry (Route 53 zone_id and name), or null for none."
  type = object({
    zone_id = string
    name    = string
  })
  default = null
}

variable "manage_consul" {
  description = "Create the Consul objects (failover queries, ACL policies and tokens, optionally the first fleet document) with Terraform. false: rustguard-central creates them when it starts."
  type        = bool
  default     = false
}

variable "consul_address" {
  description = "The primary Consul datacenter's HTTP API, for the consul provider (with manage_consul)."
  type        = string
  default     = "127.0.0.1:8500"
}

variable "consul_primary_datacenter" {
  description = "The ACL primary datacenter (policies and tokens are created there and replicated)."
  type        = string
  default     = "eu"
}

variable "service_hosts" {
  description = "Ansible hosts of the shared services by group (central, consul, redis, jaeger, grafana), host name => address, for the rendered inventory."
  type = object({
    central = optional(map(string), {})
    consul  = optional(map(string), {})
    redis   = optional(map(string), {})
    jaeger  = optional(map(string), {})
    grafana = optional(map(string), {})
  })
  default = {}
}

variable "rendered_dir" {
  description = "Where the region environment files and the Ansible inventory are rendered (relative to the working directory)."
  type        = string
  default     = "rendered"
}

variable "tags" {
  description = "Tags for every AWS resource."
  type        = map(string)
  default     = {}
}
