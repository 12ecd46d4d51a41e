terraform {
  required_providers {
    yama = {
      source  = "terraform-yama/yama"
      version = "~> 0.1"
    }
  }
}

# Connection defaults for every yama_ptrace_scope resource and data source.
# Each can override any of these in its own `ssh` block.
provider "yama" {
  user             = "root"
  private_key      = file("~/.ssh/id_ed25519")
  known_hosts_file = "~/.ssh/known_hosts"
}
