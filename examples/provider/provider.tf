terraform {
  required_providers {
    yama = {
      source  = "terraform-yama/yama"
      version = "~> 0.1"
    }
  }
}

# The key's text, e.g. export TF_VAR_ssh_private_key="$(cat ~/.ssh/id_ed25519)",
# or file("~/.ssh/id_ed25519") in a configuration that always runs where the
# key exists.
variable "ssh_private_key" {
  type      = string
  sensitive = true
}

# Connection defaults for every yama_ptrace_scope resource and data source.
# Each can override any of these in its own `ssh` block.
provider "yama" {
  user             = "root"
  private_key      = var.ssh_private_key
  known_hosts_file = "~/.ssh/known_hosts"
}
