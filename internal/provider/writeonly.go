package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// Write-only secrets. In the resource's `ssh` and `bastion` blocks the
// secrets (connAttr.writeOnly) are write-only attributes: Terraform (>= 1.11)
// sends them in the configuration of plan and apply calls and never stores
// them in state or in a plan. So:
//   - plan, create and update take the `ssh` block from the configuration
//     (configSSH), where the secrets are;
//   - a refresh (Read) gets the state only: for a resource whose `ssh` block
//     sets a secret it cannot log in as the configuration says, so it keeps
//     the state as it is (the resource records this in private state,
//     secretsKey) and the plan, which has the configuration, reads the host
//     instead and plans any drift as an update (planTimeRefresh);
//   - destroy gets the state only: it logs in with the provider block's
//     settings (and the ssh block's non-secret ones).
// The data source cannot have write-only attributes (Terraform refuses them
// there): its result drops the secrets instead (dropSecrets).

// secretsKey is the private-state key set when the resource's `ssh` block
// holds a write-only secret, so Read knows it cannot refresh from state.
const secretsKey = "ssh_secrets"

func writeOnlyDescription(a attrSpec) string {
	if !a.writeOnly {
		return a.description
	}
	return a.description + " Write-only (Terraform >= 1.11, OpenTofu >= 1.11): never stored in state or in a saved plan; it may be an ephemeral value. " +
		"A refresh does not get it: see the drift-detection guide."
}

// configSSH replaces m.SSH with the configuration's `ssh` block, which holds
// the write-only secrets that the plan and the state do not.
func configSSH(ctx context.Context, cfg tfsdk.Config, m *ptraceScopeResourceModel, diags *diag.Diagnostics) {
	if cfg.Raw.IsNull() {
		return
	}
	var ssh *connectionModel
	d := cfg.GetAttribute(ctx, path.Root("ssh"), &ssh)
	if diags.Append(d...); d.HasError() {
		return
	}
	m.SSH = ssh
}

// hasSecrets tells whether an `ssh` block (or one of its bastion blocks)
// sets a write-only secret (unknown counts: it will be set).
func hasSecrets(m *connectionModel) bool {
	if m == nil {
		return false
	}
	set := func(e endpointModel) bool {
		return !e.PrivateKey.IsNull() || !e.PrivateKeyPassphrase.IsNull() || !e.Password.IsNull()
	}
	if set(m.endpointModel) || !m.SudoPassword.IsNull() {
		return true
	}
	list, _ := bastions(m.Bastion)
	for _, b := range list {
		if set(b.endpointModel) {
			return true
		}
	}
	return false
}

// dropSecrets nulls the secrets of an `ssh` block and its bastion blocks,
// for the data source's result (which Terraform stores in state).
func dropSecrets(m *connectionModel) {
	if m == nil {
		return
	}
	forget := func(e *endpointModel) {
		e.PrivateKey, e.PrivateKeyPassphrase, e.Password = types.StringNull(), types.StringNull(), types.StringNull()
	}
	forget(&m.endpointModel)
	m.SudoPassword = types.StringNull()
	list, err := bastions(m.Bastion)
	if err != nil || len(list) == 0 {
		return
	}
	for i := range list {
		forget(&list[i].endpointModel)
	}
	if l, d := types.ListValueFrom(context.Background(), m.Bastion.ElementType(context.Background()), list); !d.HasError() {
		m.Bastion = l
	}
}

// markSecrets records in private state whether the configuration's `ssh`
// block holds write-only secrets.
func markSecrets(ctx context.Context, priv privateSetter, m ptraceScopeResourceModel, diags *diag.Diagnostics) {
	var v []byte
	if hasSecrets(m.SSH) {
		v = []byte("true")
	}
	diags.Append(priv.SetKey(ctx, secretsKey, v)...)
}

// refreshDeferred: the resource logs in with write-only secrets, so a
// refresh cannot read the host; the plan does (planTimeRefresh).
func refreshDeferred(ctx context.Context, priv privateGetter) bool {
	raw, _ := priv.GetKey(ctx, secretsKey)
	return string(raw) == "true"
}

// planTimeRefresh reads the host at plan time for an existing resource
// whose `ssh` block holds write-only secrets (the refresh could not), and
// returns the state as a refresh would have made it. The caller plans from
// it and marks what drifted (markDrift).
func (r *ptraceScopeResource) planTimeRefresh(ctx context.Context, prior ptraceScopeResourceModel, plan ptraceScopeResourceModel, diags *diag.Diagnostics) (*ptraceScopeResourceModel, hostFacts, bool) {
	t, d := r.data.connect(ctx, plan.Host.ValueString(), plan.SSH)
	if diags.Append(d...); d.HasError() {
		return nil, hostFacts{}, false
	}
	tflog.Debug(t.ctx, "refreshing at plan time: the ssh block holds write-only secrets")
	st, err := t.read(prior.File.ValueString())
	if err == nil && !st.Available {
		err = yamaAbsent(t.host.Name())
	}
	if err != nil && r.data.tolerate(t.ctx, t.host.Name(), err, "The plan keeps the resource's prior state", diags) {
		return nil, hostFacts{}, false
	}
	if err != nil {
		diags.Append(hostDiagnostic(t.host.Name(), err))
		return nil, hostFacts{}, false
	}
	refreshed := prior
	refreshed.observe(st)
	view, vd := observeBoot(&refreshed, st)
	diags.Append(vd...)
	facts := hostFacts{live: &st.Runtime, view: viewFromPrivate(view)}
	return &refreshed, facts, true
}

// driftAttrs are the computed attributes a refresh updates.
func driftAttrs(m *ptraceScopeResourceModel) []struct {
	name string
	v    *attr.Value
} {
	vals := []attr.Value{m.RuntimeScope, m.Mode, m.FileContent, m.RebootRequired, m.BootScope, m.BootSource, m.ShadowedBy, m.OverrideFiles}
	names := []string{"runtime_scope", "mode", "file_content", "reboot_required", "boot_scope", "boot_source", "shadowed_by", "override_files"}
	out := make([]struct {
		name string
		v    *attr.Value
	}, len(vals))
	for i := range vals {
		out[i].name, out[i].v = names[i], &vals[i]
	}
	return out
}

// markDrift compares the state (prior) with what the host holds
// (refreshed). Where they differ and the plan would otherwise keep the
// state's value, it plans the attribute as unknown, so that the plan is an
// update (the apply converges the host and records it), and it warns with
// what drifted.
func markDrift(out *ptraceScopeResourceModel, prior, refreshed ptraceScopeResourceModel, diags *diag.Diagnostics) {
	was, now := prior.driftValues(), refreshed.driftValues()
	planned := out.driftValues()
	var drifted []string
	for name, p := range was {
		if p.Equal(now[name]) {
			continue
		}
		drifted = append(drifted, fmt.Sprintf("%s: state %s, host %s", name, p, now[name]))
		if planned[name].Equal(p) {
			out.setUnknown(name)
		}
	}
	if len(drifted) == 0 {
		return
	}
	sort.Strings(drifted)
	diags.AddWarning("Drift on "+prior.ID.ValueString(),
		fmt.Sprintf("The host changed outside Terraform (read at plan time, because its ssh block holds write-only credentials that a refresh does not get):\n  %s\n"+
			"This plan updates the resource: the apply converges the host to the configuration and records what it holds.", strings.Join(drifted, "\n  ")))
}

func (m *ptraceScopeResourceModel) driftValues() map[string]attr.Value {
	out := map[string]attr.Value{}
	for _, a := range driftAttrs(m) {
		out[a.name] = *a.v
	}
	return out
}

func (m *ptraceScopeResourceModel) setUnknown(name string) {
	switch name {
	case "runtime_scope":
		m.RuntimeScope = types.Int64Unknown()
	case "mode":
		m.Mode = types.StringUnknown()
	case "file_content":
		m.FileContent = types.StringUnknown()
	case "reboot_required":
		m.RebootRequired = types.BoolUnknown()
	case "boot_scope":
		m.BootScope = types.Int64Unknown()
	case "boot_source":
		m.BootSource = types.StringUnknown()
	case "shadowed_by":
		m.ShadowedBy = types.ListUnknown(types.StringType)
	case "override_files":
		m.OverrideFiles = types.MapUnknown(types.StringType)
	}
}

// destroyCredentialsHint: a destroy gets the state only, so a resource
// whose ssh block held write-only secrets logs in with the provider
// block's credentials; when that login (or its sudo) is refused, say so,
// on which host, and what to do. It recognises the refusal by the advice
// table's summaries (hostDiagnostic), not by the transport's wording.
func destroyCredentialsHint(ctx context.Context, priv privateGetter, host string, diags *diag.Diagnostics) {
	if !diags.HasError() || !refreshDeferred(ctx, priv) {
		return
	}
	for _, d := range *diags {
		if d.Severity() == diag.SeverityError && (isCredentialRefusal(d.Summary()) || strings.Contains(d.Detail(), "no authentication method")) {
			diags.AddError("Destroy has no write-only credentials for "+host,
				"This resource's ssh block set write-only secrets (private_key, password, sudo_password...), which Terraform does not give to a destroy: "+
					"it logged in to "+host+" with the provider block's credentials (and the ssh block's other settings), and the host (or its sudo) refused them or there were none. "+
					"Give the provider block, the YAMA_SSH_* or YAMA_SUDO_PASSWORD environment variables or the SSH agent a credential this host accepts for the destroy, "+
					"or set on_destroy = \"keep\", apply, and remove the resource with terraform state rm.")
			return
		}
	}
}

// isCredentialRefusal: a diagnostic summary that hostDiagnostic gives to a
// refused login or a refused sudo.
func isCredentialRefusal(summary string) bool {
	for _, err := range []error{sshclient.ErrAuthFailed, sshclient.ErrSudoPassword, sshclient.ErrSudoNeedsPassword, sshclient.ErrSudoNotAllowed, sshclient.ErrSudoRefused} {
		for _, a := range advice {
			if a.err == err && strings.HasPrefix(summary, a.summary+" on ") {
				return true
			}
		}
	}
	return false
}
