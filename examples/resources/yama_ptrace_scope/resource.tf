# One host: admin-only ptrace, now and after every reboot.
resource "yama_ptrace_scope" "web1" {
  host    = "web1.example.com"
  scope   = 2
  comment = "Managed by Terraform: only CAP_SYS_PTRACE may attach"
}

# A fleet: one resource per host, from a variable.
variable "build_hosts" {
  type    = set(string)
  default = ["build1.example.com", "build2.example.com"]
}

resource "yama_ptrace_scope" "build" {
  for_each = var.build_hosts

  host  = each.key
  scope = 1
  ssh {
    user = "deploy"
    sudo = true
  }
}

# A host with a hardening role whose zz-hardening.conf sets another value:
# write an extra drop-in that sorts after it, so 2 is what the host boots
# with (see boot_scope, boot_source and override_files).
resource "yama_ptrace_scope" "hardened_role" {
  host      = "app1.example.com"
  scope     = 2
  shadowing = "override"
}

# Developer VM: let debuggers attach to any process of the same user.
resource "yama_ptrace_scope" "devbox" {
  host  = "10.0.0.15"
  scope = 0
}

# Hardened server: persist 3 (no-attach) for the next boot only, without
# locking the running kernel now.
resource "yama_ptrace_scope" "vault" {
  host          = "vault1.example.com"
  scope         = 3
  apply_runtime = false
  on_destroy    = "keep"
}
