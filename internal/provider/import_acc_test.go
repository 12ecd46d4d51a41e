package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Import of any drop-in: the ID HOST[:PORT][,FILE] works in import {}
// blocks and with terraform import, and `terraform plan
// -generate-config-out` writes a configuration that then plans no change,
// for the default drop-in, a custom one and a host without a drop-in.
func TestAccImportAnyDropIn(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	const custom = "/etc/sysctl.d/60-custom.conf"
	def := startHost(t, testhost.Options{Scope: "2"})
	cus := startHost(t, testhost.Options{Scope: "1"})
	none := startHost(t, testhost.Options{Scope: "0"})
	setHostFile(t, def, yama.DefaultFile, "# hardened\nkernel.yama.ptrace_scope = 2\n")
	setHostFile(t, cus, custom, "kernel.yama.ptrace_scope = 1\n")

	w := newTFWorkdir(t, providerConfig()+fmt.Sprintf(`
import {
  to = yama_ptrace_scope.def
  id = %q
}
import {
  to = yama_ptrace_scope.cus
  id = "%s:22,%s"
}
import {
  to = yama_ptrace_scope.none
  id = %q
}
`, def.Addr, cus.Addr, custom, none.Addr))
	out, code := w.run("plan", "-generate-config-out=gen.tf")
	if code != 0 {
		t.Fatalf("plan -generate-config-out: exit %d\n%s", code, out)
	}
	gen, err := os.ReadFile(filepath.Join(w.dir, "gen.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gen), custom) {
		t.Errorf("the generated configuration does not name %s:\n%s", custom, gen)
	}
	if !strings.Contains(flat(out), "3 to import, 0 to add, 0 to change, 0 to destroy") {
		t.Errorf("the plan with the generated configuration is not a pure import:\n%s\n%s", out, gen)
	}
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply (import): exit %d\n%s", code, out)
	}
	if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
		t.Errorf("plan after the import with the generated configuration: exit %d, want 0\n%s\n%s", code, out, gen)
	}
	for _, h := range []struct {
		h          *testhost.Host
		live, file string
		content    string
	}{{def, "2\n", yama.DefaultFile, "# hardened\nkernel.yama.ptrace_scope = 2\n"}, {cus, "1\n", custom, "kernel.yama.ptrace_scope = 1\n"}, {none, "0\n", yama.DefaultFile, ""}} {
		if got := hostFile(t, h.h, testhost.YamaPath); got != h.live {
			t.Errorf("%s: live value %q, want %q (import changed it)", h.h.Addr, got, h.live)
		}
		if got := hostFile(t, h.h, h.file); got != h.content {
			t.Errorf("%s: %s holds %q, want %q (import changed it)", h.h.Addr, h.file, got, h.content)
		}
	}

	// terraform import with the same ID form.
	if out, code := w.run("state", "rm", "yama_ptrace_scope.cus"); code != 0 {
		t.Fatalf("state rm: exit %d\n%s", code, out)
	}
	// The import {} blocks have done their work; drop them.
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(`terraform {
  required_providers {
    yama = { source = "terraform-yama/yama" }
  }
}
`+providerConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := w.run("import", "yama_ptrace_scope.cus", cus.Addr+","+custom); code != 0 {
		t.Fatalf("terraform import HOST,FILE: exit %d\n%s", code, out)
	}
	if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
		t.Errorf("plan after terraform import HOST,FILE: exit %d, want 0\n%s", code, out)
	}
	// A FILE the file attribute would refuse is refused in the ID.
	if out, code := w.run("import", "yama_ptrace_scope.cus", cus.Addr+",/tmp/x.conf"); code != 1 || !strings.Contains(out, "Invalid import ID") {
		t.Errorf("import with a bad FILE: exit %d\n%s", code, out)
	}
}
