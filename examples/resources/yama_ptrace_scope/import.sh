# Import by host name or address, with an optional SSH port.
terraform import yama_ptrace_scope.web1 web1.example.com
terraform import yama_ptrace_scope.web1 web1.example.com:2222
terraform import yama_ptrace_scope.web1 '[2001:db8::10]:22'
