output "failover_queries" {
  description = "The failover queries, by datacenter/service: their names (rustguard-<service>)."
  value       = { for k, q in consul_prepared_query.failover : k => q.name }
}

output "fleet_key" {
  description = "The KV key edges watch for the fleet configuration."
  value       = local.fleet_key
}

output "edge_token_accessor_id" {
  description = "Accessor ID of the edges' token (not a secret: it names the token)."
  value       = consul_acl_token.edge.id
}

output "central_token_accessor_id" {
  description = "Accessor ID of central's token (not a secret)."
  value       = consul_acl_token.central.id
}

output "edge_token" {
  description = "The edges' token itself, for storing in a secret store (Secrets Manager, then edge-region's secrets as CONSUL_HTTP_TOKEN; or the rustguard_edge role's token file). Sensitive."
  value       = data.consul_acl_token_secret_id.edge.secret_id
  sensitive   = true
}

output "central_token" {
  description = "Central's token itself, for its secret store. Sensitive."
  value       = data.consul_acl_token_secret_id.central.secret_id
  sensitive   = true
}
