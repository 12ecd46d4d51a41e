# Import by host name or address, with an optional SSH port and drop-in:
# HOST[:PORT][,FILE].
terraform import yama_ptrace_scope.web1 web1.example.com
terraform import yama_ptrace_scope.web1 web1.example.com:2222
terraform import yama_ptrace_scope.web1 '[2001:db8::10]:22'
terraform import yama_ptrace_scope.web1 'web1.example.com,/etc/sysctl.d/60-custom.conf'
