# The configuration `make demo` applies to a throwaway sandbox host.
terraform {
  required_providers {
    yama = {
      source  = "terraform-yama/yama"
      version = "~> 0.1"
    }
  }
}

variable "host" {
  type = string
}

variable "private_key_file" {
  type = string
}

variable "known_hosts_file" {
  type = string
}

variable "scope" {
  type    = number
  default = 2
}

provider "yama" {
  private_key      = file(var.private_key_file)
  known_hosts_file = var.known_hosts_file
}

resource "yama_ptrace_scope" "demo" {
  host    = var.host
  scope   = var.scope
  comment = "Managed by Terraform (make demo)"
}

output "ptrace" {
  value = {
    id              = yama_ptrace_scope.demo.id
    runtime_scope   = yama_ptrace_scope.demo.runtime_scope
    mode            = yama_ptrace_scope.demo.mode
    reboot_required = yama_ptrace_scope.demo.reboot_required
  }
}
