package sshconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const pemKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n"

func TestUnitSSHConfigVagrantStyle(t *testing.T) {
	dir := t.TempDir()
	key := write(t, dir, "id", pemKey)
	kh := filepath.Join(dir, "kh")
	file := write(t, dir, "vm.sshconfig", `
Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile `+kh+`
  StrictHostKeyChecking accept-new
  IdentityFile `+filepath.Join(dir, "missing")+`
  IdentityFile `+key+`
  IdentitiesOnly yes
  ConnectTimeout 7
  ProxyJump jumper,ops@10.0.0.2:2200

Host jumper
  HostName 192.0.2.1
  User hop

Host *
  User nobody
`)
	cfg, warnings, err := Apply(sshclient.Config{Host: "default", SSHConfigFile: file, Agent: true, Sudo: true})
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	if cfg.Host != "127.0.0.1" || cfg.User != "vagrant" || cfg.Port != 2222 || cfg.KnownHostsFile != kh ||
		!cfg.AcceptNewHostKey || cfg.PrivateKey != pemKey || cfg.Agent || cfg.Timeout != 7*time.Second {
		t.Errorf("target: %v", cfg)
	}
	if len(cfg.Jumps) != 2 {
		t.Fatalf("jumps: %v", cfg.Jumps)
	}
	j1, j2 := cfg.Jumps[0], cfg.Jumps[1]
	if j1.Host != "192.0.2.1" || j1.User != "hop" || j1.Port != 0 || j1.Sudo || j1.KnownHostsFile != kh {
		t.Errorf("first hop: %v", j1)
	}
	if j2.Host != "10.0.0.2" || j2.User != "ops" || j2.Port != 2200 {
		t.Errorf("second hop: %v", j2)
	}
}

func TestUnitSSHConfigTerraformWins(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "c", "Host vm\n  HostName 10.1.1.1\n  User u\n  Port 2022\n  IdentityFile "+write(t, dir, "id", pemKey)+"\n  ProxyJump j\n  StrictHostKeyChecking no\n")
	tf := sshclient.Config{Host: "vm", SSHConfigFile: file, User: "root", Port: 22, PrivateKey: "tf-key", HostKey: "ssh-ed25519 AAAA", Jumps: []sshclient.Config{{Host: "tfjump"}}}
	cfg, warnings, err := Apply(tf)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "10.1.1.1" || cfg.User != "root" || cfg.Port != 22 || cfg.PrivateKey != "tf-key" || len(cfg.Jumps) != 1 || cfg.Jumps[0].Host != "tfjump" || cfg.InsecureIgnoreHostKey || len(warnings) != 0 {
		t.Errorf("Terraform's settings did not win: %v %v", cfg, warnings)
	}
	// Without a host_key, StrictHostKeyChecking no is insecure, and said so.
	tf.HostKey = ""
	if cfg, warnings, _ = Apply(tf); !cfg.InsecureIgnoreHostKey || len(warnings) != 1 {
		t.Errorf("StrictHostKeyChecking no: %v %v", cfg.InsecureIgnoreHostKey, warnings)
	}
}

func TestUnitSSHConfigRefusesUnsupported(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ body, want string }{
		{"Host vm\n  ProxyCommand nc %h %p\n", "ProxyCommand"},
		{"Match exec \"true\"\n  User x\n", "Match Exec"},
		{"Host *\n  LocalCommand id\n  PermitLocalCommand yes\n", "LocalCommand"},
		{"Host vm\n  HostKeyAlias other\n", "HostKeyAlias"},
		{"Host vm\n  StrictHostKeyChecking maybe\n", "StrictHostKeyChecking"},
		{"Host vm\n  ProxyJump j\nHost j\n  ProxyCommand nc %h %p\n", "ProxyCommand"},
	} {
		file := write(t, dir, "c", tc.body)
		_, _, err := Apply(sshclient.Config{Host: "vm", SSHConfigFile: file})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %s", tc.body, err, tc.want)
		}
	}
	// Another host's ProxyCommand does not matter.
	file := write(t, dir, "c", "Host other\n  ProxyCommand nc %h %p\nHost vm\n  HostName 10.0.0.9\n")
	if cfg, _, err := Apply(sshclient.Config{Host: "vm", SSHConfigFile: file}); err != nil || cfg.Host != "10.0.0.9" {
		t.Errorf("%v %v", cfg.Host, err)
	}
	if _, _, err := Apply(sshclient.Config{Host: "vm", SSHConfigFile: filepath.Join(dir, "none")}); err == nil {
		t.Error("a missing file is not an error")
	}
}

// vagrant ssh-config's output works as is (insecure, warned), and with
// accept_new_host_key written in Terraform the key is pinned instead.
func TestUnitSSHConfigVagrantOutput(t *testing.T) {
	dir := t.TempDir()
	key := write(t, dir, "private_key", pemKey)
	file := write(t, dir, "vm.sshconfig", `Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile "`+key+`"
  IdentitiesOnly yes
  LogLevel FATAL
  PubkeyAcceptedKeyTypes +ssh-rsa
  HostKeyAlgorithms +ssh-rsa
`)
	cfg, warnings, err := Apply(sshclient.Config{Host: "default", SSHConfigFile: file})
	if err != nil || !cfg.InsecureIgnoreHostKey || len(warnings) != 1 || cfg.PrivateKey != pemKey || cfg.KnownHostsFile != os.DevNull {
		t.Errorf("%v %v %v", cfg, warnings, err)
	}
	cfg, warnings, err = Apply(sshclient.Config{Host: "default", SSHConfigFile: file, AcceptNewHostKey: true})
	if err != nil || cfg.InsecureIgnoreHostKey || !cfg.AcceptNewHostKey || len(warnings) != 0 {
		t.Errorf("accept_new_host_key in Terraform: %v %v %v", cfg, warnings, err)
	}
}
