package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Plan warnings that say what an apply will do to a host beyond the
// attribute diff: what on_destroy does when the resource is destroyed
// (removed from the configuration or from for_each), and a create that
// takes over a drop-in holding something else.

// destroyWarning: the plan destroys the resource; say per host what
// on_destroy will do there, from the state and the snapshot of the host's
// original in private state.
func destroyWarning(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() {
		return
	}
	var m ptraceScopeResourceModel
	if d := req.State.Get(ctx, &m); d.HasError() {
		return
	}
	host := m.ID.ValueString()
	if host == "" {
		host = m.Host.ValueString()
	}
	resp.Diagnostics.AddWarning("Destroying yama_ptrace_scope changes "+host,
		fmt.Sprintf("Destroying the resource for %s (on_destroy = %q) %s.", host, m.OnDestroy.ValueString(),
			destroyEffect(m, managedSoFar(ctx, req.Private, m), loadSnapshot(ctx, req.Private))))
}

// destroyEffect says what Delete will do, in words.
func destroyEffect(m ptraceScopeResourceModel, managed managedParts, snap *yama.Snapshot) string {
	file := m.File.ValueString()
	live := "the live value"
	if !m.RuntimeScope.IsNull() && !m.RuntimeScope.IsUnknown() {
		live = fmt.Sprintf("the live value %d", m.RuntimeScope.ValueInt64())
	}
	var overrides []string
	for p := range m.overrideFiles() {
		overrides = append(overrides, p)
	}
	var parts []string
	switch m.OnDestroy.ValueString() {
	case onDestroyKeep:
		return fmt.Sprintf("changes nothing on the host: it keeps %s and %s", live, fileOrNone(file, managed.File))
	case onDestroyRemove:
		if managed.File {
			parts = append(parts, "removes "+file)
		}
		parts = append(parts, "keeps "+live)
	default: // restore
		if snap == nil {
			return "restores the host's record of its original if the host holds one (this state has no snapshot of it); otherwise it leaves the host as it is"
		}
		if managed.Live {
			switch {
			case snap.Runtime < 0:
				parts = append(parts, "keeps "+live+" (Yama was absent before)")
			case !m.RuntimeScope.IsNull() && m.RuntimeScope.ValueInt64() == int64(snap.Runtime):
				parts = append(parts, "keeps "+live+" (as it was before)")
			case !m.RuntimeScope.IsNull() && ptrace.CanChangeLive(ptrace.Scope(m.RuntimeScope.ValueInt64()), ptrace.Scope(snap.Runtime)) != nil:
				parts = append(parts, fmt.Sprintf("cannot restore the live value %d: it is locked at 3 until reboot", snap.Runtime))
			default:
				parts = append(parts, fmt.Sprintf("restores %s to %d (%s)", live, snap.Runtime, ptrace.Scope(snap.Runtime).Mode()))
			}
		} else {
			parts = append(parts, "keeps "+live)
		}
		if managed.File {
			switch snap.FileKind {
			case yama.KindRegular:
				parts = append(parts, fmt.Sprintf("puts back the previous %s (%q)", file, strings.TrimSpace(string(snap.Content))))
			case yama.KindMissing:
				parts = append(parts, "removes "+file)
			default:
				parts = append(parts, "leaves "+file)
			}
		}
	}
	if len(overrides) > 0 {
		sort.Strings(overrides)
		parts = append(parts, "removes "+strings.Join(overrides, ", "))
	}
	if snap != nil && snap.Provisional && m.OnDestroy.ValueString() == onDestroyRestore {
		parts = append(parts, "(from what the host held when it was imported, unless the host's own record says otherwise)")
	}
	return strings.Join(parts, ", ") + ". Set on_destroy = \"keep\" before destroying to leave the host as it is"
}

func fileOrNone(file string, managed bool) string {
	if managed {
		return file
	}
	return "its sysctl.d files"
}

// takeoverWarning: a create that will write the drop-in where a file with
// other content already is.
func takeoverWarning(plan ptraceScopeResourceModel, existing *yama.File, diags *diag.Diagnostics) {
	if existing == nil || !existing.Exists() || !plan.Persist.ValueBool() || plan.Persist.IsUnknown() || plan.Comment.IsUnknown() {
		return
	}
	if existing.Readable && string(existing.Content) == string(plan.content()) {
		return
	}
	what := "something else"
	if existing.Readable {
		what = fmt.Sprintf("%q", strings.TrimSpace(string(existing.Content)))
	}
	back := "on_destroy = \"restore\" (the default) puts it back when this resource is destroyed"
	if v := plan.OnDestroy.ValueString(); v != onDestroyRestore && v != "" {
		back = fmt.Sprintf("on_destroy = %q will not put it back; with on_destroy = \"restore\" a destroy would", v)
	}
	diags.AddWarning("Taking over "+plan.File.ValueString()+" on "+plan.ID.ValueString(),
		fmt.Sprintf("%s already exists on %s and holds %s; this create replaces it with the configured drop-in. %s.",
			plan.File.ValueString(), plan.ID.ValueString(), what, back))
}
