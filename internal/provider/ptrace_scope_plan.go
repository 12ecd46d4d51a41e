package provider

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// ModifyPlan makes the plan say exactly what will change on the host: the
// drop-in's new content, the new live value, the value it boots with and
// whether a reboot will be needed; and it refuses up front what the kernel
// would refuse (lowering a live value locked at 3). It gathers what is
// known of the host (hostFacts), computes the planned values with the pure
// function planned, and writes them into the plan in one place.
func (r *ptraceScopeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		destroyWarning(ctx, req, resp) // destroy_warnings.go
	}
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or the provider is not configured yet
	}
	var plan ptraceScopeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	planSSH := plan.SSH // without the write-only secrets, as the plan must be
	configSSH(ctx, req.Config, &plan, &resp.Diagnostics)
	var prior *ptraceScopeResourceModel
	if !req.State.Raw.IsNull() {
		prior = &ptraceScopeResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, prior)...)
	}
	ctx = withPriorHostKeyPin(ctx, prior) // accept_new_host_key (tofu.go)
	if resp.Diagnostics.HasError() || plan.Host.IsUnknown() || !knownConnection(plan.SSH) {
		return // the computed attributes stay unknown until apply
	}
	cfg, err := inherit(r.data.defaults, plan.SSH)
	if err != nil {
		resp.Diagnostics.AddError("Invalid ssh block for "+plan.Host.ValueString(), err.Error())
		return
	}
	cfg, fileDiags := withSSHConfig(cfg, plan.Host.ValueString()) // ssh_config_file (sshconfig.go); connect warns
	if fileDiags.HasError() {
		resp.Diagnostics.Append(fileDiags...)
		return
	}
	plan.ID = types.StringValue(hostID(cfg.Host, cfg.Port))
	if cfg.InsecureIgnoreHostKey && !r.data.defaults.InsecureIgnoreHostKey {
		resp.Diagnostics.Append(insecureHostKeyWarning("the ssh block of the resource for " + plan.Host.ValueString()))
	}
	facts, from := hostFacts{}, prior
	switch {
	case prior != nil && hasSecrets(plan.SSH):
		// The refresh could not log in (writeonly.go): read the host now.
		refreshed, f, ok := r.planTimeRefresh(ctx, *prior, plan, &resp.Diagnostics)
		if !ok {
			return
		}
		facts, from = f, refreshed
	case judgeable(plan):
		facts = r.hostFacts(ctx, req, prior, plan, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	out, diags := planned(plan, from, facts)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	out.HostKeyPinned = plannedHostKeyPin(cfg, prior, facts.hostKey) // tofu.go
	if from != prior {
		markDrift(&out, *prior, *from, &resp.Diagnostics)
	}
	takeoverWarning(out, facts.existing, &resp.Diagnostics) // destroy_warnings.go
	out.SSH = planSSH
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &out)...)
	out.SSH = plan.SSH
	r.refuseUnprivileged(ctx, req, resp, out) // refuse.go
}

// hostFacts is what a plan knows of the host before this apply.
type hostFacts struct {
	live *ptrace.Scope  // the live value; nil when not known
	view *yama.BootView // the sysctl configuration; nil when not known
	// existing is the drop-in as a create's read found it; nil otherwise.
	existing *yama.File
	// hostKey is the key a create's read saw, for host_key_pinned (tofu.go).
	hostKey string
}

// judgeable: the configuration is known enough to judge it against the
// host (the live value it asks for, and whether it asks for one).
func judgeable(plan ptraceScopeResourceModel) bool {
	return !plan.Scope.IsUnknown() && !plan.ApplyRuntime.IsUnknown()
}

// hostFacts returns the host's live value and boot view: from the
// refreshed state and private state when the resource exists, else (a
// create) by reading the host, so that a host without Yama or locked at 3
// fails at plan time rather than half-way through an apply.
func (r *ptraceScopeResource) hostFacts(ctx context.Context, req resource.ModifyPlanRequest, prior *ptraceScopeResourceModel, plan ptraceScopeResourceModel, diags *diag.Diagnostics) hostFacts {
	if prior != nil {
		raw, _ := req.Private.GetKey(ctx, bootViewKey)
		facts := hostFacts{view: viewFromPrivate(raw)}
		if !prior.RuntimeScope.IsNull() && !prior.RuntimeScope.IsUnknown() {
			live := ptrace.Scope(prior.RuntimeScope.ValueInt64())
			facts.live = &live
		}
		return facts
	}
	if plan.File.IsUnknown() {
		return hostFacts{}
	}
	t, d := r.data.connect(ctx, plan.Host.ValueString(), plan.SSH)
	if diags.Append(d...); d.HasError() {
		return hostFacts{}
	}
	st, err := t.read(plan.File.ValueString())
	if err == nil && !st.Available {
		err = yamaAbsent(t.host.Name())
	}
	if err != nil && r.data.tolerate(t.ctx, t.host.Name(), err, "The plan leaves what it would have read there unknown (the create will fail while the host is unreachable)", diags) {
		return hostFacts{} // on_unreachable = "warn" (unreachable.go)
	}
	if err != nil {
		diags.Append(hostDiagnostic(t.host.Name(), err))
		return hostFacts{}
	}
	facts := hostFacts{live: &st.Runtime, existing: &st.Managed, hostKey: seenHostKey(t).ValueString()}
	view, err := st.BootView()
	switch {
	case errors.Is(err, yama.ErrTooLarge):
		diags.Append(hostDiagnostic(t.host.Name(), err))
	case err == nil:
		facts.view = &view
	}
	return facts
}

// planned computes the values the host will hold after this apply from
// the configuration (plan), the state (prior; nil for a create) and what
// is known of the host. It is pure: no host, no Terraform request.
func planned(plan ptraceScopeResourceModel, prior *ptraceScopeResourceModel, facts hostFacts) (ptraceScopeResourceModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	if !judgeable(plan) {
		return plan, diags // everything computed stays unknown
	}
	if diags.Append(liveChangeAllowed(plan, prior, facts.live)...); diags.HasError() {
		return plan, diags
	}
	if plan.Persist.IsUnknown() || plan.Comment.IsUnknown() {
		return plan, diags // the drop-in's content needs these; the lock check did not
	}
	plan.FileContent = plannedContent(plan, prior)
	live := plannedLive(plan, prior, facts.live)
	plan.RuntimeScope, plan.Mode = types.Int64Unknown(), types.StringUnknown()
	if live != nil {
		plan.RuntimeScope, plan.Mode = types.Int64Value(int64(*live)), types.StringValue(live.Mode())
	}
	planBoot(&plan, prior, facts.view, live, &diags)
	return plan, diags
}

// liveChangeAllowed applies the kernel's rules for a live write: a value
// locked at 3 cannot change, and 3 cannot be undone without a reboot.
func liveChangeAllowed(plan ptraceScopeResourceModel, prior *ptraceScopeResourceModel, live *ptrace.Scope) diag.Diagnostics {
	var diags diag.Diagnostics
	if !plan.ApplyRuntime.ValueBool() {
		return diags // only the drop-in changes: any value may be persisted
	}
	want, id := plan.scope(), plan.ID.ValueString()
	switch {
	case live == nil || ptrace.CanChangeLive(*live, want) == nil:
		// The kernel will take it (or the host is not known yet).
	case sameAsState(prior, want):
		// Failing here would also fail the refresh-plan that Terraform
		// runs before a destroy, leaving a resource that cannot be removed
		// until the host reboots. The configuration asks for nothing new:
		// warn, and let apply refuse the live write if it is attempted.
		diags.Append(lockedHostWarning(id, want))
	default:
		diags.Append(lockedPlanDiagnostic(id, want))
		return diags
	}
	if want == ptrace.NoAttach && (live == nil || *live != ptrace.NoAttach) {
		diags.Append(scopeThreeWarning(id))
	}
	return diags
}

// plannedContent is the drop-in after apply: the configuration's when it
// is managed; else what the state records (nothing will touch it), or
// unknown for a create (the plan did not read it for this purpose).
func plannedContent(plan ptraceScopeResourceModel, prior *ptraceScopeResourceModel) types.String {
	switch {
	case plan.Persist.ValueBool():
		return types.StringValue(string(plan.content()))
	case prior != nil:
		return prior.FileContent
	}
	return types.StringUnknown()
}

// plannedLive is the live value after apply: the configuration's when it
// sets it; else what the state records, or what a create's read found.
func plannedLive(plan ptraceScopeResourceModel, prior *ptraceScopeResourceModel, live *ptrace.Scope) *ptrace.Scope {
	switch {
	case plan.ApplyRuntime.ValueBool():
		want := plan.scope()
		return &want
	case prior != nil && !prior.RuntimeScope.IsNull():
		held := ptrace.Scope(prior.RuntimeScope.ValueInt64())
		return &held
	}
	return live
}

// sameAsState tells whether the configuration asks for the live value the
// resource's state already records (its last apply, or an import), so that
// a locked host is not a new request; a plan that asks for a new live value
// on a locked host is refused at plan time instead.
func sameAsState(prior *ptraceScopeResourceModel, want ptrace.Scope) bool {
	return prior != nil && !prior.Scope.IsNull() && !prior.Scope.IsUnknown() &&
		ptrace.Scope(prior.Scope.ValueInt64()) == want && prior.ApplyRuntime.ValueBool()
}
