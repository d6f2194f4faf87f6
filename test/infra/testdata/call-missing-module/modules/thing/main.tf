# Fixture base: a small module using only the local provider.
terraform {
  required_providers {
    local = {
      source  = "hashicorp/local"
      version = "2.9.0"
    }
  }
}

variable "size" {
  description = "How big."
  type        = number
}

variable "colour_name" {
  description = "Which colour."
  type        = string
  default     = "blue"
}

resource "local_file" "this" {
  filename = "${var.colour_name}.txt"
  content  = tostring(var.size)
}

data "local_file" "seed" {
  filename = "seed.txt"
}

output "path" {
  description = "Where the file is."
  value       = local_file.this.filename
}

output "seed" {
  description = "The seed."
  value       = data.local_file.seed.content
}
