package provider

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// ModifyPlan makes the plan say exactly what will change on the host: the
// drop-in's new content, the new live value, whether a reboot will be
// needed, and it refuses up front what the kernel would refuse (lowering a
// live value locked at 3).
func (r *ptraceScopeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or the provider is not configured yet
	}
	var plan ptraceScopeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	var prior *ptraceScopeResourceModel
	if !req.State.Raw.IsNull() {
		prior = &ptraceScopeResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, prior)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.Host.IsUnknown() || !knownConnection(plan.SSH) {
		return // computed attributes stay unknown until apply
	}
	cfg, err := inherit(r.data.defaults, plan.SSH)
	if err != nil {
		resp.Diagnostics.AddError("Invalid ssh block for "+plan.Host.ValueString(), err.Error())
		return
	}
	host := plan.Host.ValueString()
	plan.ID = types.StringValue(hostID(host, cfg.Port))
	if cfg.InsecureIgnoreHostKey && !r.data.defaults.InsecureIgnoreHostKey {
		resp.Diagnostics.Append(insecureHostKeyWarning("the ssh block of the resource for " + host))
	}
	if plan.Scope.IsUnknown() || plan.ApplyRuntime.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}

	live, known, view := r.liveScope(ctx, req, prior, host, plan, resp)
	if resp.Diagnostics.HasError() {
		return
	}
	scope := plan.scope()
	if plan.ApplyRuntime.ValueBool() {
		if known && ptrace.CanChangeLive(live, scope) != nil {
			if sameAsState(prior, scope) {
				// Failing here would also fail the refresh-plan that
				// Terraform runs before a destroy, leaving a resource
				// that cannot be removed until the host reboots. The
				// configuration asks for nothing new: warn, and let
				// apply refuse the live write if it is attempted.
				resp.Diagnostics.Append(lockedHostWarning(plan.ID.ValueString(), scope))
			} else {
				resp.Diagnostics.Append(lockedPlanDiagnostic(plan.ID.ValueString(), scope))
				return
			}
		}
		if scope == ptrace.NoAttach && (!known || live != ptrace.NoAttach) {
			resp.Diagnostics.Append(scopeThreeWarning(plan.ID.ValueString()))
		}
	}
	// The drop-in's content needs these; the lock check above does not.
	if plan.Persist.IsUnknown() || plan.Comment.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}

	// The values the host will hold after apply.
	switch {
	case plan.Persist.ValueBool():
		plan.FileContent = types.StringValue(string(plan.content()))
	case prior != nil:
		plan.FileContent = prior.FileContent
	default:
		plan.FileContent = types.StringUnknown()
	}
	switch {
	case plan.ApplyRuntime.ValueBool():
		live, known = scope, true
	case prior != nil && !prior.RuntimeScope.IsNull():
		live, known = ptrace.Scope(prior.RuntimeScope.ValueInt64()), true
	}
	var runtime *ptrace.Scope
	if known {
		runtime = &live
		plan.RuntimeScope = types.Int64Value(int64(live))
		plan.Mode = types.StringValue(live.Mode())
	} else {
		plan.RuntimeScope, plan.Mode = types.Int64Unknown(), types.StringUnknown()
	}
	planBoot(&plan, prior, view, runtime, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// liveScope returns the host's live value and boot view for plan-time
// checks: from the refreshed state and private state when the resource
// exists, else (a create) by reading the host, so that a host without Yama
// or locked at 3 fails at plan time rather than half-way through an apply.
func (r *ptraceScopeResource) liveScope(ctx context.Context, req resource.ModifyPlanRequest, prior *ptraceScopeResourceModel, host string, plan ptraceScopeResourceModel, resp *resource.ModifyPlanResponse) (ptrace.Scope, bool, *yama.BootView) {
	if prior != nil {
		raw, _ := req.Private.GetKey(ctx, bootViewKey)
		view := viewFromPrivate(raw)
		if prior.RuntimeScope.IsNull() || prior.RuntimeScope.IsUnknown() {
			return 0, false, view
		}
		return ptrace.Scope(prior.RuntimeScope.ValueInt64()), true, view
	}
	if plan.File.IsUnknown() {
		return 0, false, nil
	}
	t, diags := r.data.connect(ctx, host, plan.SSH)
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return 0, false, nil
	}
	st, err := t.read(plan.File.ValueString())
	if err != nil {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
		return 0, false, nil
	}
	if !st.Available {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), yamaAbsent(t.host.Name())))
		return 0, false, nil
	}
	view, err := st.BootView()
	if errors.Is(err, yama.ErrTooLarge) {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
		return 0, false, nil
	}
	if err != nil {
		return st.Runtime, true, nil
	}
	return st.Runtime, true, &view
}

// sameAsState tells whether the configuration asks for the live value the
// resource's state already records (its last apply, or an import), so that
// a locked host is not a new request; a plan that asks for a new live value
// on a locked host is refused at plan time instead.
func sameAsState(prior *ptraceScopeResourceModel, want ptrace.Scope) bool {
	return prior != nil && !prior.Scope.IsNull() && !prior.Scope.IsUnknown() &&
		ptrace.Scope(prior.Scope.ValueInt64()) == want && prior.ApplyRuntime.ValueBool()
}
