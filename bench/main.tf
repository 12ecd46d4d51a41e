# The configuration the benchmark applies: one yama_ptrace_scope per host,
# for_each over a map keyed by host, the form the fleet guide recommends.
# bench/main-set.tf is the same with a set of host names; both give the
# same instance keys, so the bench plans one state with both.
terraform {
  required_providers {
    yama = {
      source  = "terraform-yama/yama"
      version = "~> 0.1"
    }
  }
}

# Host -> per-host settings (none here, so that the two forms differ only
# in the collection for_each iterates).
variable "hosts" {
  type = map(object({}))
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
