package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// Hostile but valid input goes through the real pipeline (terraform, the
// provider, SSH, sudo, the host's sh) and must arrive as data: a comment
// full of shell syntax ends up byte for byte in the drop-in, nothing in it
// runs, and no command string the hosts receive contains any of it. The
// hosts log every command string exactly as sshd got it (AuditCommands),
// which is what proves no remote command is built from user input.
func TestAccPtraceScope_hostileInputIsData(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	marker := strings.TrimPrefix(pwnedPath(t, "pipeline"), "/tmp/")
	pwned := func(n int) string { return fmt.Sprintf("/tmp/%s-%d", marker, n) }
	comment := fmt.Sprintf(`$(touch %s) `+"`touch %s`"+` ; touch %s && echo 'single' "double" \ \" %%s %%n %%%% ${HOME} %%{x} | > < * ? ~ $IFS # kernel.yama.ptrace_scope = 0`,
		pwned(1), pwned(2), pwned(3))
	file := "/usr/local/lib/sysctl.d/50-yama+" + marker[len("pwned-"):] + "@x.conf"

	users := []struct{ name, ssh string }{
		{"root", ""},
		{"nopasswd sudo", `
  ssh {
    user = "yamasudo"
    sudo = true
  }`},
		{"password sudo", fmt.Sprintf(`
  ssh {
    user          = "yamapw"
    sudo          = true
    sudo_password = %s
  }`, hcl(testhost.PasswordPW))},
	}
	var hosts []*testhost.Host
	for _, u := range users {
		t.Run(u.name, func(t *testing.T) {
			h := startHost(t, testhost.Options{Scope: "1", AuditCommands: true})
			hosts = append(hosts, h)
			w := newTFWorkdir(t, providerConfig()+fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host    = %q
  scope   = 2
  file    = %q
  comment = %s
  %s
}
data "yama_ptrace_scope" "read" {
  host       = %q
  file       = %q
  depends_on = [yama_ptrace_scope.test]
}
output "read_back" {
  value = data.yama_ptrace_scope.read.file_content
}
`, h.Addr, file, hcl(comment), u.ssh, h.Addr, file))
			if out, code := w.run("apply", "-auto-approve"); code != 0 {
				t.Fatalf("apply: exit %d\n%s", code, out)
			}
			want := "# " + comment + "\nkernel.yama.ptrace_scope = 2\n"
			if got := hostFile(t, h, file); got != want {
				t.Errorf("drop-in = %q, want the comment literally: %q", got, want)
			}
			if got := hostFile(t, h, testhost.YamaPath); got != "2\n" {
				t.Errorf("live value %q, want 2", got)
			}
			st := w.resourceState(res)
			if st == nil || fmt.Sprint(st["boot_scope"]) != "2" || st["comment"] != comment {
				t.Errorf("state: boot_scope %v, comment %q; want 2 (the 0 is inside the comment) and the comment as given", st["boot_scope"], st["comment"])
			}
			out, code := w.run("output", "-raw", "read_back")
			if code != 0 || out != want {
				t.Errorf("data source read back %q (exit %d), want %q", out, code, want)
			}
			if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
				t.Errorf("plan after apply: exit %d, want 0 (the comment survives the round trip)\n%s", code, out)
			}
			// sudo_password is write-only: a destroy does not get it from
			// the ssh block; it comes from the environment.
			w.env = append(w.env, envSudoPassword+"="+testhost.PasswordPW)
			if out, code := w.run("destroy", "-auto-approve"); code != 0 {
				t.Errorf("destroy: exit %d\n%s", code, out)
			}

			cmds := h.CommandLog()
			if len(cmds) < 3 {
				t.Fatalf("only %d commands logged; the audit is not working", len(cmds))
			}
			for i, c := range cmds {
				for _, bad := range []string{marker, "touch /tmp", "'single'", "50-yama+", testhost.PasswordPW} {
					if strings.Contains(c, bad) {
						t.Errorf("command %d sent to the host contains user input %q:\n%s", i, bad, c)
					}
				}
			}
			if log := h.SudoLog(); strings.Contains(log, marker) || strings.Contains(log, testhost.PasswordPW) {
				t.Errorf("sudo log shows user input:\n%s", log)
			}
		})
	}

	// A wrong sudo password full of shell syntax is only ever a password.
	t.Run("hostile wrong sudo password", func(t *testing.T) {
		h := startHost(t, testhost.Options{Scope: "1", AuditCommands: true})
		hosts = append(hosts, h)
		bad := fmt.Sprintf(`x'; touch %s; echo '$(touch %s)`+"`touch %s`", pwned(4), pwned(5), pwned(6))
		w := newTFWorkdir(t, resourceConfig(h, fmt.Sprintf(`scope = 2
  ssh {
    user          = "yamapw"
    sudo          = true
    sudo_password = %s
  }`, hcl(bad))))
		out, code := w.run("apply", "-auto-approve")
		if code != 1 || !strings.Contains(flat(out), "sudo password rejected on "+h.Addr+":22") {
			t.Fatalf("apply: exit %d, want 1 and sudo password rejected\n%s", code, out)
		}
		if strings.Contains(out, marker) {
			t.Errorf("terraform output shows the sudo password:\n%s", out)
		}
		for i, c := range h.CommandLog() {
			if strings.Contains(c, marker) {
				t.Errorf("command %d contains the sudo password:\n%s", i, c)
			}
		}
	})

	// Nothing ran: on any sandbox (as any user) or on this machine.
	for _, h := range hosts {
		for _, dir := range []string{"/tmp", "/var/tmp", "/root", "/home/yamasudo", "/home/yamapw", "/"} {
			matches, _ := filepath.Glob(filepath.Join(h.Path(dir), marker+"*"))
			for _, m := range matches {
				t.Errorf("%s: %s exists: user input was executed", h.Addr, m)
			}
		}
	}
	for n := 1; n <= 6; n++ {
		if _, err := os.Stat(pwned(n)); !os.IsNotExist(err) {
			t.Errorf("%s exists on this machine: user input was executed", pwned(n))
		}
	}
}
