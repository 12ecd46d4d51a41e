package sysctld

import "testing"

func TestRender(t *testing.T) {
	tests := []struct {
		name, key, value, comment, want string
	}{
		{"with comment", "kernel.yama.ptrace_scope", "2", "managed by Terraform",
			"# managed by Terraform\nkernel.yama.ptrace_scope = 2\n"},
		{"empty comment renders no comment line", "kernel.yama.ptrace_scope", "3", "",
			"kernel.yama.ptrace_scope = 3\n"},
		{"inner spaces in value kept", "net.ipv4.ip_local_port_range", "32768 60999", "ports",
			"# ports\nnet.ipv4.ip_local_port_range = 32768 60999\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Render(tt.key, tt.value, tt.comment)); got != tt.want {
				t.Fatalf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}
