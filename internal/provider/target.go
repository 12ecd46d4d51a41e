package provider

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// target is one host, ready to run commands, with a logging context that
// carries its name and masks its secrets.
type target struct {
	ctx  context.Context
	host yama.Host
	cfg  sshclient.Config
}

// connect resolves the connection settings for host (provider defaults,
// then the `ssh` block) and returns a target. It does not dial: the pool
// connects on first use and reuses the connection afterwards.
func (d *providerData) connect(ctx context.Context, host string, ssh *connectionModel) (*target, diag.Diagnostics) {
	var diags diag.Diagnostics
	cfg, err := inherit(d.defaults, ssh)
	if err != nil {
		diags.AddError("Invalid ssh block for "+host, err.Error())
		return nil, diags
	}
	cfg, fileDiags := withSSHConfig(cfg, host) // ssh_config_file (sshconfig.go)
	if diags.Append(fileDiags...); diags.HasError() {
		return nil, diags
	}
	diags.Append(applyHostKeyPin(ctx, &cfg, host)...) // accept_new_host_key (tofu.go)
	h, err := d.hosts(cfg)
	if err != nil {
		diags.Append(hostDiagnostic(host, err))
		return nil, diags
	}
	for i, j := range cfg.Jumps {
		if j.InsecureIgnoreHostKey && !d.defaults.InsecureIgnoreHostKey {
			diags.Append(insecureBastionWarning(i+1, j.Host, host))
		}
	}
	ctx = maskSecrets(ctx, cfg)
	ctx = tflog.SetField(ctx, "host", h.Name())
	ctx = tflog.SetField(ctx, "user", userOf(cfg))
	return &target{ctx: ctx, host: h, cfg: cfg}, diags
}

// maskSecrets makes sure no secret reaches a log line, whatever field or
// message it might end up in: every sensitive attribute's field key, and
// every secret value of the host and its bastions (sshclient.Config tags
// them).
func maskSecrets(ctx context.Context, cfg sshclient.Config) context.Context {
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, sensitiveConnAttrs()...)
	if secrets := cfg.Secrets(); len(secrets) > 0 {
		ctx = tflog.MaskAllFieldValuesStrings(ctx, secrets...)
		ctx = tflog.MaskMessageStrings(ctx, secrets...)
	}
	return ctx
}

func userOf(cfg sshclient.Config) string {
	if cfg.User == "" {
		return sshclient.DefaultUser
	}
	return cfg.User
}

// read returns the host's state. If the drop-in exists but the login user
// cannot read it, and sudo is configured, it reads again as root.
func (t *target) read(file string) (*yama.State, error) {
	tflog.Debug(t.ctx, "reading ptrace_scope state", map[string]any{"file": file})
	st, err := yama.Read(t.ctx, t.host, file)
	if err != nil {
		return nil, err
	}
	if st.Managed.Exists() && st.Managed.Kind == yama.KindRegular && !st.Managed.Readable {
		if !t.cfg.Sudo {
			return nil, &yama.Error{Host: t.host.Name(), Op: "read", Path: file, Err: yama.ErrUnreadable}
		}
		if st, err = yama.ReadPrivileged(t.ctx, t.host, file); err != nil {
			return nil, err
		}
	}
	tflog.Debug(t.ctx, "read ptrace_scope state", map[string]any{"available": st.Available, "runtime": int(st.Runtime), "file_exists": st.Managed.Exists()})
	return st, nil
}

// apply runs a change and logs what it did; it returns the host's state
// afterwards (possibly with an error for a step that failed).
func (t *target) apply(c yama.Change) (*yama.State, error) {
	var writes, removes []string
	for _, op := range c.Files {
		if op.Remove {
			removes = append(removes, op.Path)
		} else {
			writes = append(writes, op.Path)
		}
	}
	fields := map[string]any{"file": c.File, "write_files": writes, "remove_files": removes}
	if c.Runtime != nil {
		fields["runtime"] = int(*c.Runtime)
	}
	tflog.Info(t.ctx, "applying ptrace_scope change", fields)
	return yama.Apply(t.ctx, t.host, c)
}

// hostID is the resource id: host:port, IPv6 in brackets.
func hostID(host string, port int) string {
	if port == 0 {
		port = sshclient.DefaultPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// parseImportID accepts HOST or HOST:PORT (IPv6 as [addr] or [addr]:port).
func parseImportID(id string) (string, int, error) {
	if h, p, err := net.SplitHostPort(id); err == nil {
		port, perr := strconv.Atoi(p)
		if perr != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("port %q is not a number between 1 and 65535", p)
		}
		return h, port, checkHost(h)
	}
	h := id
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	return h, 0, checkHost(h)
}
