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

# Report drift in every `terraform plan`, even on hosts this configuration
# does not manage. A failed check only warns: `terraform plan
# -detailed-exitcode` still exits 0. To fail the plan, use a postcondition
# (below).
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

# Fail the plan (exit 1) when the host is not hardened.
data "yama_ptrace_scope" "web1_gate" {
  host = "web1.example.com"
  ssh {
    user = "monitor"
  }

  lifecycle {
    postcondition {
      condition     = self.available && self.scope >= 2
      error_message = "web1 allows ptrace attach (scope ${coalesce(self.scope, -1)})."
    }
  }
}
