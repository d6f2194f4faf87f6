variable "region" {
  description = "The AWS region these edges run in (e.g. eu-central-1): the region argument of every resource here."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "An AWS region code such as eu-central-1."
  }
}

variable "rustguard_region" {
  description = "The RustGuard region name the edges report (RUSTGUARD_REGION: metric label, log field, Consul meta, trace attribute); usually short, e.g. eu. Also names the AWS resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,15}$", var.rustguard_region))
    error_message = "1 to 16 lower-case letters, digits or '-' (it is part of load balancer names, which AWS caps at 32 characters)."
  }
}

variable "environment" {
  description = "Deployment name (e.g. production): part of resource names, a tag, and the deployment.environment.name trace attribute."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,9}$", var.environment))
    error_message = "1 to 10 lower-case letters or digits, starting with a letter (it is part of load balancer names)."
  }
}

variable "image" {
  description = "Container image repository of rustguard-edge (the OCI image make release builds), without a tag, e.g. 123456789012.dkr.ecr.eu-central-1.amazonaws.com/rustguard-edge."
  type        = string
}

variable "edge_version" {
  description = "The edge release to run: the image tag, e.g. v1.4.0. A moving tag such as latest is refused: a replaced task must run the same code as its neighbours."
  type        = string

  validation {
    condition     = var.edge_version != "" && var.edge_version != "latest"
    error_message = "Pin a release tag (for example v1.4.0), not latest or an empty tag."
  }
}

variable "vpc_id" {
  description = "The VPC of the load balancer and the tasks. Its CIDR becomes RUSTGUARD_TRUSTED_PROXIES: the load balancer's PROXY v2 headers come from addresses inside it."
  type        = string
}

variable "lb_subnet_ids" {
  description = "Subnets of the network load balancer, one per availability zone (public subnets unless internal_lb)."
  type        = list(string)

  validation {
    condition     = length(var.lb_subnet_ids) > 0
    error_message = "At least one subnet."
  }
}

variable "task_subnet_ids" {
  description = "Subnets of the edge tasks (usually private, with a NAT gateway or VPC endpoints for pulling the image and reaching Consul, Redis and OTLP)."
  type        = list(string)

  validation {
    condition     = length(var.task_subnet_ids) > 0
    error_message = "At least one subnet."
  }
}

variable "assign_public_ip" {
  description = "Give each task a public IP (only for tasks in public subnets without a NAT gateway). Players never use it: they come through the load balancer."
  type        = bool
  default     = false
}

variable "internal_lb" {
  description = "Make the load balancer internal (reachable only through the global accelerator or a private network) instead of internet-facing."
  type        = bool
  default     = false
}

variable "static_ips" {
  description = "Give the load balancer one Elastic IP per subnet, so the region has fixed addresses of its own besides the global entry."
  type        = bool
  default     = false
}

variable "player_cidrs" {
  description = "Who may connect to the player port. The accelerator preserves client addresses, so this is the players' side: the whole internet by default."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "min_instances" {
  description = "Fewest edge tasks in the region (the autoscaling floor). Two or more survive one task's replacement without a gap."
  type        = number
  default     = 2

  validation {
    condition     = var.min_instances >= 1 && floor(var.min_instances) == var.min_instances
    error_message = "A whole number, at least 1."
  }
}

variable "max_instances" {
  description = "Most edge tasks in the region (the autoscaling ceiling)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && floor(var.max_instances) == var.max_instances
    error_message = "A whole number, at least 1 (and at least min_instances)."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU use of the tasks that autoscaling keeps them at (target tracking)."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "Between 10 and 90 percent."
  }
}

variable "task_cpu" {
  description = "CPU units per task (1024 = one vCPU); a Fargate size together with task_memory."
  type        = number
  default     = 1024
}

variable "task_memory" {
  description = "Memory per task in MiB; a Fargate size together with task_cpu."
  type        = number
  default     = 2048
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: must match the image (make release builds both)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "X86_64 or ARM64."
  }
}

variable "admin_port" {
  description = "Port of the edge's admin listener (/readyz, /metrics), opened to the VPC only: the load balancer's health check calls /readyz on it."
  type        = number
  default     = 9565

  validation {
    condition     = var.admin_port > 1024 && var.admin_port < 65536 && var.admin_port != 25565
    error_message = "An unprivileged port other than the player port 25565."
  }
}

variable "backend_address" {
  description = "The backend Minecraft server (host:port) when the region has no Consul; ignored with Consul, which names the healthy backends."
  type        = string
  default     = ""
}

variable "consul" {
  description = <<-EOT
    The region's Consul. http_addr: the agent or server the edges ask (empty: no Consul, backend_address serves every host).
    backend_service: the service whose healthy instances get players. agent: an optional Consul client agent run next to each
    edge in its task (image, datacenter, retry_join, and the ARN of a secret holding its JSON configuration: gossip key, ACL
    token), which lets the edges register themselves; without it the edges talk to http_addr and do not register, because a
    remote agent would check the edge's /readyz on its own loopback. The ACL token reaches the edge through secrets
    (CONSUL_HTTP_TOKEN).
  EOT
  type = object({
    http_addr       = optional(string, "")
    backend_service = optional(string, "minecraft")
    agent = optional(object({
      image             = string
      datacenter        = string
      retry_join        = list(string)
      config_secret_arn = optional(string, "")
    }))
  })
  default = {}
}

variable "redis_url" {
  description = "The region's Redis (RUSTGUARD_REDIS_URL) when it needs no password; a URL with a password goes in secrets as RUSTGUARD_REDIS_URL instead. Empty: no Redis."
  type        = string
  default     = ""

  validation {
    condition     = !can(regex("^[a-z+]+://[^/@]*:[^/@]*@", var.redis_url))
    error_message = "This URL carries a password: store it in Secrets Manager and pass its ARN in secrets as RUSTGUARD_REDIS_URL."
  }
}

variable "otlp_endpoint" {
  description = "Where the edges send traces (OTEL_EXPORTER_OTLP_ENDPOINT): the region's collector or rustguard-central's OTLP receiver, e.g. http://central.internal:4318. Empty: no traces."
  type        = string
  default     = ""
}

variable "extra_env" {
  description = "More edge settings as RUSTGUARD_* or OTEL_* variables (docs/CONFIG.md). The edge is configured by environment only: RUSTGUARD_CONFIG is refused, and variables this module sets itself cannot be overridden."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.extra_env) : can(regex("^(RUSTGUARD|OTEL)_[A-Z0-9_]+$", k)) && k != "RUSTGUARD_CONFIG"])
    error_message = "Keys are RUSTGUARD_* or OTEL_* variables, and RUSTGUARD_CONFIG is refused (no configuration files on a replaceable task)."
  }
}

variable "secrets" {
  description = "Secret environment variables by reference: variable name => ARN of a Secrets Manager secret or SSM parameter (for example RUSTGUARD_REDIS_URL with a password, CONSUL_HTTP_TOKEN). ECS injects them at start; their values never enter Terraform."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.secrets : can(regex("^[A-Z_][A-Z0-9_]*$", k)) && can(regex("^arn:aws[a-z-]*:(secretsmanager|ssm):", v))])
    error_message = "Names are environment variable names; values are Secrets Manager or SSM parameter ARNs."
  }
}

variable "log_retention_days" {
  description = "How long the edges' logs stay in CloudWatch Logs."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource (merged over the module's own: rustguard:region, rustguard:environment)."
  type        = map(string)
  default     = {}
}
