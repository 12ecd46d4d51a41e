# bench/main.tf with for_each over a set of host names instead of a map:
# the "tf plan (set)" column plans the same state with this configuration.
terraform {
  required_providers {
    yama = {
      source  = "terraform-yama/yama"
      version = "~> 0.1"
    }
  }
}

variable "hosts" {
  type = set(string)
}

variable "scope" {
  type = number
}

variable "private_key_file" {
  type = string
}

variable "known_hosts_file" {
  type = string
}

provider "yama" {
  private_key      = file(var.private_key_file)
  known_hosts_file = var.known_hosts_file
}

resource "yama_ptrace_scope" "fleet" {
  for_each = var.hosts

  host       = each.key
  scope      = var.scope
  on_destroy = "keep"
}
