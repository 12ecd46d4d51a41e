# Read a host's live value and drop-in (no root needed).
data "yama_ptrace_scope" "web1" {
  host = "web1.example.com"
  ssh {
    user = "monitor"
  }
}

output "web1_ptrace_mode" {
  value = data.yama_ptrace_scope.web1.mode
}

# Catch drift in every `terraform plan`, even on hosts this configuration
# does not manage.
check "web1_ptrace_hardened" {
  assert {
    condition     = data.yama_ptrace_scope.web1.available && data.yama_ptrace_scope.web1.scope >= 2
    error_message = "web1 allows ptrace attach (scope ${coalesce(data.yama_ptrace_scope.web1.scope, -1)})."
  }
}

# What the host will boot with, and which file decides it.
output "web1_boot" {
  value = {
    scope  = data.yama_ptrace_scope.web1.boot_scope
    source = data.yama_ptrace_scope.web1.boot_source
    lines  = [for a in data.yama_ptrace_scope.web1.assignments : "${a.file}:${a.line} = ${a.value} (${a.outcome})"]
  }
}
