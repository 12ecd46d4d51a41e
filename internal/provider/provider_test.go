package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// Acceptance tests drive a real terraform binary (TF_ACC_TERRAFORM_PATH or
// terraform on PATH) against sandbox hosts: real sshd processes on loopback
// addresses, each in its own mount namespace with a stand-in Yama file (see
// internal/testhost). They run when TF_ACC is set, as `make test` does.

var protoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"yama": providerserver.NewProtocol6WithError(New("test")()),
}

// accEnv is shared by every acceptance test of this binary: one client key
// and one known_hosts file; each test starts its own hosts.
var accEnv *testhost.Env

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "yama-acc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The environment may point TF_CLI_CONFIG_FILE at a missing file, which
	// makes terraform warn on every command: give it an empty one.
	cliConfig := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("TF_CLI_CONFIG_FILE", cliConfig)
	os.Unsetenv("SSH_AUTH_SOCK") // tests choose their auth explicitly
	if os.Getenv("TF_ACC") == "" {
		return m.Run() // unit tests only: no sandbox hosts
	}

	// TF_ACC is set: sandbox hosts are required, not optional.
	accEnv, err = testhost.NewEnv(filepath.Join(dir, "hosts"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "acceptance tests need sandbox hosts: %v\n", err)
		return 1
	}
	defer accEnv.Close()
	return m.Run()
}

// startHost starts a sandbox host for one test and stops it afterwards.
func startHost(t *testing.T, opts testhost.Options) *testhost.Host {
	t.Helper()
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	h, err := accEnv.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop() })
	return h
}

// providerConfig is a provider block that logs in as root with the test
// key and verifies host keys against the harness's known_hosts.
func providerConfig(extra ...string) string {
	return fmt.Sprintf(`
provider "yama" {
  private_key      = file(%q)
  known_hosts_file = %q
  %s
}
`, accEnv.ClientKeyPath(), accEnv.KnownHostsPath(), strings.Join(extra, "\n  "))
}

// hostFile reads a sandbox file from outside, "" when it does not exist.
func hostFile(t *testing.T, h *testhost.Host, p string) string {
	t.Helper()
	b, err := os.ReadFile(h.Path(p))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// setHostFile changes a sandbox file behind Terraform's back.
func setHostFile(t *testing.T, h *testhost.Host, p, content string) {
	t.Helper()
	if err := os.WriteFile(h.Path(p), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hostExists(h *testhost.Host, p string) bool {
	_, err := os.Lstat(h.Path(p))
	return err == nil
}

func removeHostFile(t *testing.T, h *testhost.Host, p string) {
	t.Helper()
	if err := os.Remove(h.Path(p)); err != nil {
		t.Fatal(err)
	}
}
