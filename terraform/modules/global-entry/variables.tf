variable "name" {
  description = "Name of the accelerator, e.g. rustguard-production."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,64}$", var.name))
    error_message = "1 to 64 letters, digits or '-'."
  }
}

variable "endpoints" {
  description = "One entry per region: the AWS region code (endpoint_group_region) and the ARN of that region's network load balancer (edge-region's nlb_arn). weight spreads traffic between endpoints of one group; traffic_dial_percentage (0 to 100) drains a region by hand, 0 taking it out."
  type = map(object({
    region                  = string
    nlb_arn                 = string
    weight                  = optional(number, 128)
    traffic_dial_percentage = optional(number, 100)
  }))

  validation {
    condition     = length(var.endpoints) > 0
    error_message = "At least one region."
  }

  validation {
    condition     = length(distinct([for e in values(var.endpoints) : e.region])) == length(var.endpoints)
    error_message = "One endpoint per AWS region: a listener has one endpoint group per region."
  }

  validation {
    condition     = alltrue([for e in values(var.endpoints) : e.traffic_dial_percentage >= 0 && e.traffic_dial_percentage <= 100 && e.weight >= 0 && e.weight <= 255])
    error_message = "traffic_dial_percentage is 0 to 100 and weight 0 to 255."
  }
}

variable "ip_address_type" {
  description = "IPV4, or DUAL_STACK for IPv6 players too (every load balancer must then be dual-stack)."
  type        = string
  default     = "IPV4"

  validation {
    condition     = contains(["IPV4", "DUAL_STACK"], var.ip_address_type)
    error_message = "IPV4 or DUAL_STACK."
  }
}

variable "dns" {
  description = "An optional DNS name for players (e.g. play.example.com) in a Route 53 hosted zone: zone_id and name. An alias to the accelerator; Minecraft's default port needs no SRV record. null: no record, players use the accelerator's addresses or DNS name."
  type = object({
    zone_id = string
    name    = string
  })
  default = null
}

variable "flow_logs_bucket" {
  description = "S3 bucket for the accelerator's flow logs (who connected, from where); empty turns them off."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags for the accelerator."
  type        = map(string)
  default     = {}
}
