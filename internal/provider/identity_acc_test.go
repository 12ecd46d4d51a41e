package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Resource identity: import { identity = { host, port, file } } on
// Terraform >= 1.12 (run with TF_ACC_TERRAFORM_PATH set to the Terraform
// 1.13.3 that scripts/deps.sh builds), then -generate-config-out plans
// clean and the state records the identity.
func TestAccImportByIdentity(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	out, _ := exec.Command(terraformPath(t), "version", "-json").Output()
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("terraform version -json: %v\n%s", err, out)
	}
	var major, minor int
	fmt.Sscanf(v.Version, "%d.%d", &major, &minor)
	if major == 1 && minor < 12 {
		t.Skipf("terraform %s has no resource identity (needs 1.12; scripts/deps.sh builds 1.13.3)", v.Version)
	}
	const custom = "/etc/sysctl.d/60-custom.conf"
	h := startHost(t, testhost.Options{Scope: "1"})
	setHostFile(t, h, custom, "kernel.yama.ptrace_scope = 1\n")
	w := newTFWorkdir(t, providerConfig()+fmt.Sprintf(`
import {
  to       = yama_ptrace_scope.h
  identity = {
    host = %q
    port = 22
    file = %q
  }
}
`, h.Addr, custom))
	if out, code := w.run("plan", "-generate-config-out=gen.tf"); code != 0 {
		t.Fatalf("plan -generate-config-out: exit %d\n%s", code, out)
	}
	gen, _ := os.ReadFile(filepath.Join(w.dir, "gen.tf"))
	if out, code := w.run("apply", "-auto-approve"); code != 0 || !strings.Contains(out, "1 imported, 0 added, 0 changed, 0 destroyed") {
		t.Fatalf("apply (import by identity): exit %d\n%s\n%s", code, out, gen)
	}
	if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
		t.Errorf("plan after import by identity: exit %d, want 0\n%s\n%s", code, out, gen)
	}
	st, _ := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	for _, want := range []string{`"identity"`, `"host": "` + h.Addr + `"`, `"file": "` + custom + `"`, `"port": 22`} {
		if !strings.Contains(string(st), want) {
			t.Errorf("the state lacks %s:\n%s", want, st)
		}
	}
	if got := hostFile(t, h, custom); got != "kernel.yama.ptrace_scope = 1\n" || hostFile(t, h, yama.DefaultFile) != "" {
		t.Errorf("the import changed the host: %s holds %q", custom, got)
	}
}
