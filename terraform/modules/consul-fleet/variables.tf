variable "datacenters" {
  description = "The Consul datacenters of the fleet, one per region. Prepared queries and KV are per datacenter (WAN federation replicates neither), so each gets its own; ACL policies and tokens are global (replicated from the primary)."
  type        = list(string)

  validation {
    condition     = length(var.datacenters) > 0 && length(distinct(var.datacenters)) == length(var.datacenters)
    error_message = "At least one datacenter, each named once."
  }
}

variable "backend_services" {
  description = "The backend services edges route players to (discovery.backend_service and every service discovery.routes names): each gets its failover query, rustguard-<service>."
  type        = list(string)
  default     = ["minecraft"]
}

variable "failover_nearest" {
  description = "How many other datacenters, nearest first, a failover query tries when a service has no passing instance locally. Must equal the edges' discovery.failover_nearest (RUSTGUARD_FAILOVER_NEAREST, default 3): an edge rewrites a query that differs from what it wants."
  type        = number
  default     = 3

  validation {
    condition     = var.failover_nearest >= 1 && floor(var.failover_nearest) == var.failover_nearest
    error_message = "A whole number, at least 1 (0 means no failover; then create no queries)."
  }
}

variable "query_token" {
  description = "An ACL token stored on the failover queries and used when they execute; it needs read on the services in every datacenter. Empty: each query runs with the token of whoever executes it (the edge's)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "kv_prefix" {
  description = "The Consul KV prefix of the fleet configuration: rustguard-central keeps the current document under <prefix>fleet and its history under <prefix>history/<version>. Edges read it; central writes it."
  type        = string
  default     = "rustguard/config/"

  validation {
    condition     = can(regex("^[a-z0-9_-]+(/[a-z0-9_-]+)*/$", var.kv_prefix))
    error_message = "A key prefix ending in '/', e.g. rustguard/config/."
  }
}

variable "initial_fleet_document" {
  description = "An optional first fleet document (a JSON object of edge sections, correlation and regions; docs/CONFIG.md). Written once as version 1 in every datacenter and never again: later versions are central's, written with check-and-set. null writes nothing and leaves the first version to central."
  type        = any
  default     = null
}

variable "edge_service_name" {
  description = "The service name edges register as (fixed in the edge: rustguard-edge)."
  type        = string
  default     = "rustguard-edge"
}

variable "central_service_name" {
  description = "The service name rustguard-central registers as."
  type        = string
  default     = "rustguard-central"
}
