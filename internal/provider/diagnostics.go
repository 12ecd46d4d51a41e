package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// All user-facing wording lives in this file: what happened, on which
// host, and what to do about it.

// advice maps a sentinel error to a summary and a remedy. The first entry
// whose error matches wins, so specific entries come first.
var advice = []struct {
	err     error
	summary string
	remedy  string
}{
	{sshclient.ErrHostKeyChanged, "Host key changed",
		"The host presented a different key than the one you trust. This may be a man-in-the-middle attack, or the host was reinstalled. Verify the new key out of band (e.g. on the host's console: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) before updating known_hosts or `host_key`; for a key pinned by `accept_new_host_key` (`host_key_pinned`), replace the resource (`terraform apply -replace=...`) once the new key is verified."},
	{sshclient.ErrHostCertificate, "Host certificate rejected",
		"The host did not present a valid certificate from the certificate authority you trust (`host_key = \"@cert-authority ...\"` or a `@cert-authority` line in known_hosts): " +
			"it presented a plain key, a certificate from another CA, one that does not list this host name or address among its principals, or one outside its validity period (see above). " +
			"This may be a man-in-the-middle attack, or the host's certificate needs renewing: check it on the host's console (e.g. `ssh-keygen -L -f /etc/ssh/ssh_host_ed25519_key-cert.pub`) before trusting anything else."},
	{sshclient.ErrHostKeyUnknown, "Host key unknown",
		"The host's key is not trusted yet. Verify the fingerprint above out of band, then add the host to `known_hosts_file` (e.g. `ssh-keyscan HOST >> ~/.ssh/known_hosts` after checking it) or pin it with `host_key`. For a new host such as a freshly booted VM, `accept_new_host_key = true` trusts the key it presents on first contact and pins it in the resource's state."},
	{sshclient.ErrUnreachable, "Host unreachable",
		"Check that the host is up, that `host` and `port` are right, and that no firewall blocks SSH from here. For a host that is still booting, `wait_for_ssh` (e.g. `\"5m\"`) keeps retrying."},
	{sshclient.ErrHandshakeTimeout, "SSH handshake timed out",
		"The host accepted the TCP connection but did not complete the SSH handshake within `timeout`. Check that SSH (not another service) listens on that port, and raise `timeout` for slow hosts."},
	{sshclient.ErrAuthFailed, "SSH authentication refused",
		"Check `user` and the credentials (`private_key`, `password`, `agent`), and that the key is in the user's authorized_keys on the host."},
	{sshclient.ErrSudoPassword, "sudo password rejected",
		"Set `sudo_password` to the login user's password, or give the user NOPASSWD rights for sudo."},
	{sshclient.ErrSudoTimeout, "sudo did not respond",
		"sudo neither ran the command nor asked for a password in time. Check the host's sudo configuration (e.g. a `requiretty` default or a PAM module that waits for input)."},
	{sshclient.ErrSudoMissing, "sudo not found",
		"`sudo = true`, but the login user's shell found no `sudo` command on the host. Install sudo (e.g. `apt-get install sudo`), make sure it is on the PATH " +
			"that the login user's shell sets for SSH commands, or connect as root with `sudo = false`."},
	{sshclient.ErrSudoTTY, "sudo requires a terminal",
		"The host's sudoers sets `requiretty` for this user, so sudo refuses commands that run without a terminal, as the provider's do. " +
			"Turn it off for this user (e.g. `Defaults:USER !requiretty` in a file under /etc/sudoers.d, edited with `visudo`), or connect as root."},
	{sshclient.ErrSudoNeedsPassword, "sudo refused",
		"sudo asks the login user for a password, and `sudo_password` is not set. Grant NOPASSWD sudo, set `sudo_password`, or connect as root."},
	{sshclient.ErrSudoNotAllowed, "sudo refused",
		"The login user may not run commands as root with sudo (sudo's message is above). Give it a sudoers rule that lets it run `/bin/sh` as root " +
			"(e.g. membership of the `sudo` group), or connect as root."},
	{sshclient.ErrSudoRefused, "sudo refused",
		"sudo did not run the command as root (its message is above). Check the login user's sudo rights on the host (`sudo -l` as that user), or connect as root."},
	{sshclient.ErrLoginShell, "Login shell does not run commands",
		"The login user's shell exited without running the provider's command: it is `nologin`, `/bin/false` or another program that is not a shell " +
			"(what it printed is above). Give the user a shell on the host (e.g. `usermod -s /bin/sh USER`), or set `user` to an account that has one."},
	{sshclient.ErrInputConsumed, "A login file read the command's input",
		"A file that the login user's shell runs at startup (~/.bashrc, ~/.profile, ~/.zshenv, ~/.cshrc, ~/.config/fish/config.fish, ...) read standard input, " +
			"which carries the provider's data, so the command started without it and did nothing. Find the command there that reads input (`read`, `cat`, " +
			"a prompt) and run it only in interactive shells (e.g. `case $- in *i*) ;; *) return;; esac` at the top of ~/.bashrc)."},
	{sshclient.ErrCommandTimeout, "Command timed out",
		"A command on the host did not finish within `command_timeout` (default 5m), so it was stopped. If the error says the login shell had not started it, " +
			"a file the login user's shell runs at startup (~/.bashrc, ~/.profile, ...) hangs or waits for input: fix it (under a root login, what it started keeps " +
			"running on the host, since OpenSSH does not let clients signal root's sessions: kill it there). Otherwise the host was too slow (a slow disk's sync, " +
			"a loaded machine): raise `command_timeout`. Run `terraform plan` again to see what the host holds now."},
	{sshclient.ErrOutputLimit, "Too much output from host",
		fmt.Sprintf("The host sent more than %d MiB of output for one command (stdout and stderr together), so the command was stopped. The provider's "+
			"commands print a few KiB: the rest most likely comes from a file that the login user's shell runs at startup (~/.bashrc, ~/.profile, ...); "+
			"make it print only in interactive shells.", sshclient.MaxOutput>>20)},
	{sshclient.ErrConnectionLost, "SSH connection lost",
		"The connection dropped during the operation. Run `terraform plan` again: it shows what the host now holds, and one more apply converges."},
	{sshclient.ErrConfig, "Invalid SSH configuration", "Fix the connection settings in the provider block or the `ssh` block."},
	{yama.ErrYamaAbsent, "Yama is not enabled",
		"The kernel has no Yama LSM, so kernel.yama.ptrace_scope does not exist. Boot a kernel with CONFIG_SECURITY_YAMA and Yama in the `lsm=` list, or do not manage this host with yama_ptrace_scope."},
	{yama.ErrLocked, "ptrace_scope is locked at 3",
		"The live value is 3 (no-attach) and the kernel refuses any other value until reboot. Set `apply_runtime = false` to persist the new value now and reboot later, or reboot the host first."},
	{yama.ErrReadOnly, "Read-only file system",
		"The path is on a read-only mount (e.g. /proc/sys in a container, or a read-only /etc). Manage the setting where the file system is writable, such as the host rather than a container."},
	{yama.ErrPermission, "Permission denied",
		"Changing ptrace_scope needs root (CAP_SYS_PTRACE) and writing the drop-in needs root. Connect as root or set `sudo = true` for a user with sudo rights."},
	{yama.ErrNoSpace, "No space left on device",
		"The drop-in could not be written; the previous file is left as it was. Free space on the host and apply again."},
	{yama.ErrNotRegular, "Drop-in path is not a regular file",
		"The drop-in must be a regular file with a single link, or not exist. A symbolic link or a hard link could lead to any file on the host (/etc/shadow, say), so the provider " +
			"reads, shows, stores and writes nothing through it; a directory, FIFO or device is not a drop-in either. Replace it on the host with a regular file " +
			"(or remove it, if it is not needed), or choose another `file`."},
	{yama.ErrBusy, "Host busy",
		"Another apply on this host (another terraform run, or another resource for the same host) held the host's lock (" + yama.LockPath + ") for the whole wait. " +
			"Let it finish and apply again. If nothing else is running, look on the host for a hung `sh -c` started by root: it holds the lock until it ends."},
	{yama.ErrRecord, "Cannot record the original on the host",
		"Before its first change to a host the provider records what the host held (the live value and the drop-in, with its mode and owner) in " + yama.RecordDir +
			" (root only), so that on_destroy = \"restore\" can always put it back, even after an interrupted apply. That failed (see above: e.g. a read-only /var/lib), " +
			"and nothing was changed. Make the directory writable by root and apply again."},
	{yama.ErrBadRecord, "Damaged record of the original",
		"The provider's record of what the host held before its first change (under " + yama.RecordDir + "/orig) is not what the provider writes. " +
			"Inspect it as root: restore the drop-in and the live value by hand if needed, then remove the record and apply again."},
	{yama.ErrTooLarge, "File too large",
		fmt.Sprintf("A sysctl file is over %d KiB, which is far beyond any real drop-in. Inspect it on the host.", yama.MaxFileSize>>10)},
	{yama.ErrInvalidValue, "Value rejected by the kernel", "The kernel accepts only " + ptrace.Describe() + "."},
	{yama.ErrVerify, "Host does not hold the value written",
		"The write reported success but reading back shows something else. Something on the host (a config manager, a container runtime) may be resetting it."},
	{yama.ErrUnreadable, "Drop-in not readable",
		"The connecting user cannot read the drop-in. Connect as root or enable `sudo`."},
	{yama.ErrProtocol, "Unexpected output from host",
		"The host's shell printed something unexpected. Make sure the login user's shell runs `sh -c` commands without printing banners (e.g. from .bashrc)."},
}

// hostDiagnostic turns a domain or transport error into a diagnostic that
// names the host and says what to do. A failure on a bastion names that
// bastion, so the user fixes the right block.
func hostDiagnostic(host string, err error) diag.Diagnostic {
	summary, remedy := "Operation failed", "See the error above."
	for _, a := range advice {
		if errors.Is(err, a.err) {
			summary, remedy = a.summary, a.remedy
			break
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		summary, remedy = "Operation cancelled", "Terraform cancelled the operation or its deadline passed; run it again."
	}
	var se *sshclient.Error
	bastion, via := "", ""
	if errors.As(err, &se) {
		bastion, via = se.Bastion, se.Via
	}
	if via != "" && errors.Is(err, sshclient.ErrUnreachable) {
		remedy = fmt.Sprintf("The connection goes through bastion %s, which could not reach the host: check `host` and `port` as the bastion resolves them, "+
			"that the host is up and that the bastion allows TCP forwarding (`AllowTcpForwarding`, `PermitOpen`).", via)
	}
	var hk *sshclient.HostKeyError
	if errors.As(err, &hk) && errors.Is(err, sshclient.ErrHostKeyUnknown) {
		where := ""
		if bastion != "" {
			where = ", in that bastion block"
		}
		remedy = fmt.Sprintf("%s\n\nFingerprint: %s\nTo pin it%s: host_key = %q", remedy, hk.Fingerprint, where, hk.Key)
		if hk.CertAuthority != "" {
			remedy += fmt.Sprintf("\nThe host presented a certificate signed by the CA %s: to trust that CA instead, pin it with host_key = \"@cert-authority <CA public key>\" or add a @cert-authority line for this host to known_hosts.", hk.CertAuthority)
		}
	}
	on := host
	if bastion != "" {
		on = fmt.Sprintf("bastion %s (for %s)", bastion, host)
		remedy += fmt.Sprintf("\n\nThis failure is on the bastion %s, not on %s: its settings come from the `bastion` block "+
			"(and, where it leaves them unset, from the provider block).", bastion, host)
	}
	return diag.NewErrorDiagnostic(summary+" on "+on, strings.TrimSpace(err.Error())+"\n\n"+remedy)
}

// Plan-time messages.

func lockedPlanDiagnostic(host string, want ptrace.Scope) diag.Diagnostic {
	return diag.NewErrorDiagnostic("ptrace_scope is locked at 3 on "+host,
		fmt.Sprintf("The live kernel.yama.ptrace_scope on %s is 3 (no-attach), and the kernel refuses any other value until reboot, "+
			"so the live value cannot be set to %d (%s).\n\n"+
			"Either set `apply_runtime = false` to persist %d in the drop-in now (it takes effect at the next boot, and `reboot_required` "+
			"becomes true), or reboot the host first. To destroy the resource without changing the configuration: "+
			"`terraform destroy -refresh=false` (Terraform plans the configuration during a destroy's refresh).", host, want, want.Mode(), want))
}

func lockedHostWarning(host string, want ptrace.Scope) diag.Diagnostic {
	return diag.NewWarningDiagnostic("ptrace_scope is locked at 3 on "+host+": applying will fail for this host",
		fmt.Sprintf("The live kernel.yama.ptrace_scope on %s is 3 (no-attach), not the %d (%s) this configuration asks for, and the "+
			"kernel refuses any other value until the host reboots. The plan goes ahead so that the other hosts, and a destroy, are "+
			"not blocked, but applying it fails for this host when it sets the live value; the drop-in is checked first and left as it is.\n\n"+
			"Set `apply_runtime = false` to keep only the drop-in (`reboot_required` becomes true), set `scope = 3` to accept the live "+
			"value, or reboot the host (it then boots with `boot_scope`). Destroying the resource works: `on_destroy` handles the drop-in "+
			"and the live value stays 3 until reboot.", host, want, want.Mode()))
}

func scopeThreeWarning(host string) diag.Diagnostic {
	return diag.NewWarningDiagnostic("ptrace_scope 3 cannot be undone without a reboot on "+host,
		"Setting kernel.yama.ptrace_scope to 3 (no-attach) disables ptrace attach for every process, root included, "+
			"and the kernel refuses any other value until the host reboots. Debuggers, strace and crash reporters that attach "+
			"will stop working. To lower it later, change the drop-in with `apply_runtime = false` and reboot.")
}

func insecureHostKeyWarning(where string) diag.Diagnostic {
	return diag.NewWarningDiagnostic("Host key verification is disabled",
		fmt.Sprintf("insecure_ignore_host_key = true in %s: any host key is accepted, so a man-in-the-middle could impersonate "+
			"the host and capture credentials. Use known_hosts_file or host_key instead.", where))
}

func insecureBastionWarning(n int, bastion, host string) diag.Diagnostic {
	return diag.NewWarningDiagnostic("Host key verification is disabled for a bastion",
		fmt.Sprintf("insecure_ignore_host_key = true in bastion %d (%s) on the way to %s: any host key is accepted from it, so a man-in-the-middle could "+
			"impersonate the bastion, capture its credentials and read what passes through it. Use known_hosts_file or host_key instead.", n, bastion, host))
}

func restoreLockedWarning(host string, original ptrace.Scope) diag.Diagnostic {
	return diag.NewWarningDiagnostic("Live ptrace_scope stays 3 until reboot on "+host,
		fmt.Sprintf("on_destroy = \"restore\" put back the drop-in, but the live value is 3 and the kernel will not return to %d (%s) until the host reboots.",
			original, original.Mode()))
}

func yamaAbsent(host string) error {
	return &yama.Error{Host: host, Op: "read", Path: yama.ProcPath, Err: yama.ErrYamaAbsent}
}

func shadowedDiagnostic(isError bool, host, managed string, b yama.Boot, want ptrace.Scope) diag.Diagnostic {
	summary := "Drop-in will not set ptrace_scope at boot on " + host
	boot := "the kernel default (nothing sets it)"
	if b.Set {
		boot = fmt.Sprintf("%d, from %s", b.Scope, b.Source)
	}
	detail := fmt.Sprintf("%s sets kernel.yama.ptrace_scope = %d, but at boot (%s) the host will end up with %s:\n%s\n\n"+
		"Remove or change those lines, set `shadowing = \"override\"` to let the provider write a drop-in that wins, "+
		"or set `shadowing = \"error\"` to stop plans instead of warning.", managed, want, b.Mode, boot, describeShadows(b))
	if isError {
		return diag.NewErrorDiagnostic(summary, detail)
	}
	return diag.NewWarningDiagnostic(summary, detail)
}

func cannotOverrideDiagnostic(host string, err error) diag.Diagnostic {
	return diag.NewErrorDiagnostic("Cannot make the drop-in win at boot on "+host,
		err.Error()+"\n\nshadowing = \"override\" only adds a drop-in in /etc/sysctl.d; it never edits or masks files it does not own.")
}

func changedDuringApplyDiagnostic(host string, changed []string) diag.Diagnostic {
	return diag.NewErrorDiagnostic("Host changed while applying on "+host,
		"The apply did what the plan said, but the host now differs from the plan in:\n  - "+strings.Join(changed, "\n  - ")+"\n\n"+
			"Something else changed kernel.yama.ptrace_scope or the sysctl.d files on this host between the plan and the apply: "+
			"for example a second yama_ptrace_scope resource for the same host, or a configuration manager. The state records what the host holds now. "+
			"Keep one resource per host, then run `terraform plan` again.")
}

func bootUnknownWarning(host string, err error) diag.Diagnostic {
	return diag.NewWarningDiagnostic("Boot-time value unknown on "+host,
		err.Error()+"\n\nboot_scope, boot_source and shadowed_by are left empty. Make the sysctl.d files readable by the login user, or connect as root.")
}

// describeSteps lists the changes an apply made, for a message; "nothing"
// when it made none.
func describeSteps(steps []yama.Step) string {
	if len(steps) == 0 {
		return "nothing"
	}
	out := make([]string, 0, len(steps))
	for _, s := range steps {
		out = append(out, s.String())
	}
	return strings.Join(out, "; ")
}

// stepsRan says which steps an apply ran, for a message: exactly, or, when
// its answer was lost, the ones whose report got through.
func stepsRan(after *yama.State) string {
	if !after.ChangedKnown {
		return "at least these steps had run (the host's answer was cut short): " + describeSteps(after.Changed)
	}
	return "these steps had run: " + describeSteps(after.Changed)
}

func rolledBackWarning(host string, after *yama.State, undone []yama.Step) diag.Diagnostic {
	return diag.NewWarningDiagnostic("Failed create rolled back on "+host,
		fmt.Sprintf("The create failed after %s. Putting the host back did: %s. "+
			"The drop-in and the live value are as they were before, and nothing was created. Fix the error above and apply again.",
			stepsRan(after), describeSteps(undone)))
}

func rollbackFailedWarning(host string, after *yama.State, snap yama.Snapshot, err error) diag.Diagnostic {
	before := "no drop-in"
	if snap.FileKind == yama.KindRegular {
		before = fmt.Sprintf("this drop-in: %q", snap.Content)
		if snap.Mode != 0 {
			before += fmt.Sprintf(" (mode %04o, owner %s)", snap.Mode, snap.Owner)
		}
	}
	return diag.NewWarningDiagnostic("Host left half-changed on "+host,
		fmt.Sprintf("The create failed after %s; putting the host back failed too (%v). Before the create the live value was %d and the host had %s. "+
			"The host keeps that in its record of the original (%s, root only): the next apply takes it up, so on_destroy = \"restore\" still puts it back.",
			stepsRan(after), err, snap.Runtime, before, yama.RecordDir))
}

// recordLeftWarning: a destroy with on_destroy = "keep" could not remove the
// host's record of its original.
func recordLeftWarning(host, file string, diags diag.Diagnostics) diag.Diagnostic {
	why := ""
	for _, d := range diags {
		if d.Severity() == diag.SeverityError {
			why = d.Summary() + ": " + d.Detail()
			break
		}
	}
	return diag.NewWarningDiagnostic("Record of the original left on "+host,
		fmt.Sprintf("on_destroy = \"keep\" leaves the host as it is, but the provider could not remove its record of what the host held before it first changed it (%s):\n\n%s\n\n"+
			"A later yama_ptrace_scope created for this host and file would take that record as the host's original. If the host is still in use, remove the file as root.",
			yama.RecordPath(file), why))
}

func volatileDropInWarning(host, file string) diag.Diagnostic {
	return diag.NewWarningDiagnostic("Drop-in does not survive reboot on "+host,
		file+" is under /run, a tmpfs that starts empty at every boot: it sets the value until the next reboot only, and boot_scope is "+
			"predicted without it. Use a file in /etc/sysctl.d to persist the value.")
}
