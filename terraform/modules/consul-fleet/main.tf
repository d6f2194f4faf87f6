# The Consul side of the fleet, for operators who manage Consul with
# Terraform. rustguard-central creates the same objects idempotently when it
# starts; this module makes them exist before any edge or central runs.
# It must match what the edges do (edge/internal/discovery): the failover
# query's name and shape (failover.go), the edge's service name and checks
# (register.go), and the configuration keys (shared/config/fleet.go).

locals {
  queries = {
    for pair in setproduct(var.datacenters, var.backend_services) : "${pair[0]}/${pair[1]}" => {
      datacenter = pair[0]
      service    = pair[1]
    }
  }

  fleet_key   = "${var.kv_prefix}fleet"
  history_key = "${var.kv_prefix}history/1"

  # The envelope central writes (config.FleetEnvelope): version 1 of the
  # document, said to be written by Terraform.
  initial_envelope = var.initial_fleet_document == null ? null : jsonencode({
    version    = 1
    updated_at = plantimestamp()
    updated_by = "terraform"
    config     = var.initial_fleet_document
  })
}

# The cross-datacenter failover query an edge executes when a service has
# no passing instance in its own datacenter: passing instances only, then
# the nearest datacenters by round-trip time. The edge compares every field
# with this shape and rewrites the query when anything else is set (tags,
# meta filters, Near, IgnoreCheckIDs could otherwise redirect players), so
# nothing more may be set here.
resource "consul_prepared_query" "failover" {
  for_each = local.queries

  datacenter   = each.value.datacenter
  name         = "rustguard-${each.value.service}"
  service      = each.value.service
  only_passing = true
  stored_token = var.query_token == "" ? null : var.query_token

  failover {
    nearest_n = var.failover_nearest
  }
}

# The first version of the fleet document, written once per datacenter.
# Central owns the key afterwards (check-and-set on every write), so
# Terraform neither overwrites nor deletes it.
resource "consul_keys" "initial_fleet" {
  for_each = local.initial_envelope == null ? toset([]) : toset(var.datacenters)

  datacenter = each.value

  key {
    path   = local.fleet_key
    value  = local.initial_envelope
    delete = false
  }

  key {
    path   = local.history_key
    value  = local.initial_envelope
    delete = false
  }

  lifecycle {
    ignore_changes = [key]
  }
}

# Edges: register themselves (service write), read the catalog for
# backends in every datacenter, read the fleet document, and keep their
# failover queries in the shape they need (query write: an edge creates or
# rewrites rustguard-<service>).
resource "consul_acl_policy" "edge" {
  name        = "rustguard-edge"
  description = "RustGuard edges: register, discover backends, read the fleet configuration, own the failover queries"
  rules       = <<-EOT
    service "${var.edge_service_name}" {
      policy = "write"
    }
    service_prefix "" {
      policy = "read"
    }
    node_prefix "" {
      policy = "read"
    }
    key "${local.fleet_key}" {
      policy = "read"
    }
    query_prefix "rustguard-" {
      policy = "write"
    }
  EOT
}

# Central: writes the fleet document and its history in every datacenter,
# lists the edges (catalog read), registers itself, and may recreate the
# failover queries. It needs no ACL rights: with this module, the ACL
# objects are Terraform's.
resource "consul_acl_policy" "central" {
  name        = "rustguard-central"
  description = "RustGuard central: write the fleet configuration, read the fleet, own the failover queries"
  rules       = <<-EOT
    key_prefix "${var.kv_prefix}" {
      policy = "write"
    }
    service "${var.central_service_name}" {
      policy = "write"
    }
    service_prefix "" {
      policy = "read"
    }
    node_prefix "" {
      policy = "read"
    }
    query_prefix "rustguard-" {
      policy = "write"
    }
  EOT
}

# Global tokens (local = false), replicated to every datacenter, so one
# token works for the edges of every region.
resource "consul_acl_token" "edge" {
  description = "RustGuard edges"
  policies    = [consul_acl_policy.edge.name]
  local       = false
}

resource "consul_acl_token" "central" {
  description = "RustGuard central"
  policies    = [consul_acl_policy.central.name]
  local       = false
}

data "consul_acl_token_secret_id" "edge" {
  accessor_id = consul_acl_token.edge.id
}

data "consul_acl_token_secret_id" "central" {
  accessor_id = consul_acl_token.central.id
}
