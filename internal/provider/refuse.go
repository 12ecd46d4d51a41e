package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Plan-time refusals of what an apply would refuse.

// privateKeyPathValidator refuses a private_key that is a file name
// (`~/.ssh/id_ed25519`), not the key's text, at validate time, on the
// attribute that holds it.
type privateKeyPathValidator struct{}

var _ validator.String = privateKeyPathValidator{}

func (privateKeyPathValidator) Description(context.Context) string {
	return "the key's text (e.g. file(\"~/.ssh/id_ed25519\")), not a path"
}
func (v privateKeyPathValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

// looksLikeKeyPath: one line, starting like a path, without PEM armour.
func looksLikeKeyPath(s string) bool {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "-----BEGIN") || strings.ContainsAny(s, "\n\r") || len(s) > 4096 {
		return false
	}
	for _, p := range []string{"~", "/", "./", "../"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func (privateKeyPathValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || !looksLikeKeyPath(req.ConfigValue.ValueString()) {
		return
	}
	p := strings.TrimSpace(req.ConfigValue.ValueString())
	resp.Diagnostics.AddAttributeError(req.Path, "private_key is a path, not a key",
		fmt.Sprintf("%s is %q, a file name: it takes the key's text (PEM or OpenSSH format, starting with -----BEGIN). "+
			"Read the file with file(): %s = file(%q).", req.Path, p, req.Path, p))
}

// refuseUnprivileged: a plan that will change the host, whose login user is
// not root and has sudo = false, would fail at apply (only root may write
// the live value and the drop-in). The plan-time check asks the host for
// the login user's uid (a user named otherwise may be uid 0) and refuses
// the plan, naming the host and the fix.
func (r *ptraceScopeResource) refuseUnprivileged(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan ptraceScopeResourceModel) {
	if resp.Diagnostics.HasError() || (!req.State.Raw.IsNull() && resp.Plan.Raw.Equal(req.State.Raw)) {
		return // nothing will be written
	}
	cfg, err := inherit(r.data.defaults, plan.SSH)
	if err != nil || cfg.Sudo || userOf(cfg) == "root" {
		return
	}
	t, d := r.data.connect(ctx, plan.Host.ValueString(), plan.SSH)
	if d.HasError() {
		return // the apply reports it
	}
	out, _, err := t.host.Run(t.ctx, "id -u", nil, false)
	if err != nil {
		tflog.Debug(t.ctx, "could not ask the login user's uid", map[string]any{"error": err.Error()})
		return
	}
	uid := strings.TrimSpace(string(out))
	if uid == "0" {
		return
	}
	user := userOf(cfg)
	resp.Diagnostics.Append(diag.NewAttributeErrorDiagnostic(path.Root("ssh").AtName("sudo"), "Permission denied on "+t.host.Name(),
		fmt.Sprintf("Refused at plan time: on %s the login user %q is not root (uid %s) and sudo is false, so the apply would be refused writing the live value and the drop-in. "+
			"Set sudo = true in the ssh block (or the provider block) if %q may use sudo, or log in as root: user = \"root\".", t.host.Name(), user, uid, user)))
}
