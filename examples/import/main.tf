# Adopt hosts that already have a drop-in with import blocks (Terraform 1.5+):
# the first plan shows the imports and, when a host already matches the
# configuration, no change for it.
terraform {
  required_providers {
    yama = {
      source  = "terraform-yama/yama"
      version = "~> 0.1"
    }
  }
}

variable "ssh_private_key" {
  type      = string
  sensitive = true
}

provider "yama" {
  private_key = var.ssh_private_key
}

import {
  to = yama_ptrace_scope.web1
  id = "web1.example.com"
}

import {
  to = yama_ptrace_scope.web2
  id = "web2.example.com:2222"
}

resource "yama_ptrace_scope" "web1" {
  host  = "web1.example.com"
  scope = 1
}

resource "yama_ptrace_scope" "web2" {
  host  = "web2.example.com"
  scope = 1
  ssh {
    port = 2222
  }
}
