# Fixture output-missing-output-in-for (from the valid base): a root wiring the three modules.
variable "regions" {
  description = "The regions."
  type = map(object({
    aws_region = string
    vpc_id     = string
  }))
}

module "edge" {
  source   = "../../modules/edge-region"
  for_each = var.regions

  region = each.value.aws_region
  vpc_id = each.value.vpc_id
}

module "global_entry" {
  source = "../../modules/global-entry"

  endpoints = { for name, e in module.edge : name => { region = var.regions[name].aws_region, nlb_arn = e.nlb_arn } }
}

module "thing" {
  source = "../../modules/thing"

  size = 3
}

output "entry" {
  description = "The global entry."
  value       = module.global_entry.dns_name
}

output "thing" {
  description = "The thing's file."
  value       = module.thing.path
}

output "arns" {
  description = "Load balancers by region."
  value       = { for k, t in module.edge : k => t.nope }
}
