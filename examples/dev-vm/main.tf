# A developer VM with ptrace scope 0, in one apply: Terraform boots a Debian
# guest under qemu (the real-kernel test suite's image, test/vm/build-image.sh),
# the provider waits for its sshd, trusts its new host key on first contact
# (pinned in state: no known_hosts entry, no insecure_ignore_host_key), and
# sets scope 0 now and for every boot. `terraform destroy` restores the scope
# and stops the VM.
#
#   terraform apply -var image_dir=$(test/vm/build-image.sh bookworm | tail -n1)

terraform {
  required_providers {
    yama = {
      source = "terraform-yama/yama"
    }
  }
}

variable "image_dir" {
  description = "Directory of the guest image: disk.img, vmlinuz, initrd, id_ed25519 (root's login key)."
  type        = string
}

variable "ssh_port" {
  description = "Port on 127.0.0.1 that qemu forwards to the guest's sshd."
  type        = number
  default     = 2222
}

# Stands in for a libvirt, Vagrant or cloud VM resource: its output (the
# address) is not known until it exists, so the plan contacts no host.
resource "terraform_data" "vm" {
  input = {
    host  = "127.0.0.1"
    port  = var.ssh_port
    image = var.image_dir
    dir   = "${abspath(path.module)}/.vm"
  }

  provisioner "local-exec" {
    command = "${path.module}/vm.sh start '${self.input.image}' '${self.input.dir}' ${self.input.port}"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "${path.module}/vm.sh stop '${self.input.image}' '${self.input.dir}' ${self.input.port}"
  }
}

provider "yama" {
  private_key = file("${var.image_dir}/id_ed25519")
  # Nothing is known about the new VM's key: the file need not exist, and
  # the provider never writes it.
  known_hosts_file = "${abspath(path.module)}/.vm/known_hosts"
}

resource "yama_ptrace_scope" "dev" {
  host    = terraform_data.vm.output.host
  scope   = 0
  comment = "Developer VM: debuggers may attach to any process of the same user"

  ssh {
    port                = terraform_data.vm.output.port
    wait_for_ssh        = "5m" # the VM is still booting when the apply gets here
    accept_new_host_key = true # trust on first use, pinned in host_key_pinned
  }
}

output "host_key_pinned" {
  value = yama_ptrace_scope.dev.host_key_pinned
}

output "boot_scope" {
  value = yama_ptrace_scope.dev.boot_scope
}
