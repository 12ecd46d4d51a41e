package provider

import (
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// FuzzParseRendered: the import path reads a drop-in from the host and
// recovers scope and comment only when rendering them again gives back
// exactly the same bytes. On any content it must not panic, and whatever it
// accepts must round-trip and be a comment the schema would accept.
func FuzzParseRendered(f *testing.F) {
	f.Add([]byte("kernel.yama.ptrace_scope = 2\n"))
	f.Add([]byte("# hardened\nkernel.yama.ptrace_scope = 2\n"))
	f.Add([]byte("# vendor default\nkernel.yama.ptrace_scope = 1\n\n"))
	f.Add([]byte("#no space\nkernel.yama.ptrace_scope = 1\n"))
	f.Add([]byte("# a\n# b\nkernel.yama.ptrace_scope = 3\n"))
	f.Add([]byte("kernel.yama.ptrace_scope=2\r\n"))
	f.Add([]byte("# $(touch /tmp/x) `id` ; 'q' \"d\"\nkernel.yama.ptrace_scope = 0\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		value, comment, ok := parseRendered(content)
		if !ok {
			return
		}
		if got := string(sysctld.Render(yama.Key, value, comment)); got != string(content) {
			t.Fatalf("accepted %q but renders back as %q", content, got)
		}
		if strings.ContainsAny(comment, "\n") || strings.ContainsAny(value, "\r\n") {
			t.Fatalf("multi-line value %q or comment %q accepted", value, comment)
		}
		// What import adopts must be what the configuration renders: a
		// valid scope, which with this comment gives the same bytes.
		s, err := ptrace.Parse(value)
		if err != nil {
			t.Fatalf("accepted %q with value %q, which is no scope: %v", content, value, err)
		}
		if got := string(sysctld.Render(yama.Key, s.String(), comment)); got != string(content) {
			t.Fatalf("adopting scope %d and comment %q from %q would plan a rewrite to %q", s, comment, content, got)
		}
	})
}
