package provider

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Some behaviour is only visible in terraform's own output (warnings) or
// across whole commands (connections per run), which terraform-plugin-
// testing does not expose. These tests build the provider binary and run
// the real terraform CLI against it with dev_overrides.

var (
	buildOnce   sync.Once
	providerDir string
	buildErr    error
)

// providerBinaryDir builds terraform-provider-yama once per test binary.
func providerBinaryDir(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// One binary serves every test of this run, so the directory must
		// outlive the test that happens to build it.
		providerDir, buildErr = os.MkdirTemp("", "yama-provider-") //nolint:usetesting // shared via buildOnce by all tests; t.TempDir would vanish when the first caller ends
		if buildErr != nil {
			return
		}
		_, thisFile, _, _ := runtime.Caller(0)
		repo := filepath.Join(filepath.Dir(thisFile), "..", "..")
		cmd := exec.Command("go", "build", "-o", filepath.Join(providerDir, "terraform-provider-yama"), ".")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return providerDir
}

// tfWorkdir is a terraform working directory whose CLI configuration points
// the provider's source address at the freshly built binary.
type tfWorkdir struct {
	t   *testing.T
	dir string
	env []string
}

func newTFWorkdir(t *testing.T, config string) *tfWorkdir {
	t.Helper()
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	bin := providerBinaryDir(t)
	dir := t.TempDir()
	rc := filepath.Join(dir, "terraformrc")
	writeTemp(t, dir, "terraformrc", fmt.Sprintf(`provider_installation {
  dev_overrides {
    "%s/terraform-yama/yama" = %q
  }
  direct {}
}
`, providerHost(), bin))
	writeTemp(t, dir, "main.tf", `terraform {
  required_providers {
    yama = { source = "terraform-yama/yama" }
  }
}
`+config)
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	return &tfWorkdir{t: t, dir: dir, env: env}
}

// run executes terraform with args and returns its combined output and
// exit code (plan -detailed-exitcode uses 2 for "changes").
func (w *tfWorkdir) run(args ...string) (string, int) {
	w.t.Helper()
	cmd := exec.Command(terraformPath(w.t), append(args, "-no-color")...)
	cmd.Dir, cmd.Env = w.dir, w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode()
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return out.String(), 0
}

// providerHost is the registry host that "terraform-yama/yama" means to
// the CLI under test: registry.opentofu.org for OpenTofu, which
// terraform-plugin-testing learns from the same variable.
func providerHost() string {
	if h := os.Getenv("TF_ACC_PROVIDER_HOST"); h != "" {
		return h
	}
	return "registry.terraform.io"
}

func terraformPath(t *testing.T) string {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("no terraform: set TF_ACC_TERRAFORM_PATH or put terraform on PATH (make test does)")
	}
	return p
}
