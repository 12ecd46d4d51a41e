package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Boot-time truth: which sysctl.d assignment sets the value at boot, and
// what to do when another file would defeat the managed drop-in.

// The shadowing choices.
const (
	shadowingWarn     = "warn"
	shadowingError    = "error"
	shadowingOverride = "override"
)

// The boot_mode choices.
const (
	bootModeAuto    = "auto"
	bootModeSystemd = "systemd"
	bootModeProcps  = "procps"
)

// bootViewKey is the private-state key holding the host's boot-relevant
// sysctl configuration (yama.BootView as JSON), captured at refresh so a
// plan can predict the boot value without another command on the host.
const bootViewKey = "boot_view"

var pathBootMode = path.Root("boot_mode")

// privateSetter is what Create, Read and Update responses offer.
type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// observeBoot records the host's actual boot-time story in m. It returns
// the boot view to keep in private state (nil when there is none to keep).
func observeBoot(m *ptraceScopeResourceModel, st *yama.State) (view []byte, diags diag.Diagnostics) {
	v, err := st.BootView()
	if errors.Is(err, yama.ErrTooLarge) {
		diags.Append(hostDiagnostic(m.Host.ValueString(), err))
		return nil, diags
	}
	if err != nil {
		m.setBoot(nil)
		m.RebootRequired = types.BoolNull()
		diags.Append(bootUnknownWarning(m.Host.ValueString(), err))
		return nil, diags
	}
	view, _ = json.Marshal(v)
	mode, err := v.BootMode(m.BootMode.ValueString())
	if err != nil {
		diags.AddError("Invalid boot_mode", err.Error())
		return view, diags
	}
	b, err := v.Predict(mode, m.bootOverlay(), m.managedPath())
	if err != nil {
		m.setBoot(nil)
		diags.Append(bootUnknownWarning(m.Host.ValueString(), err))
		return view, diags
	}
	m.setBoot(&b)
	m.RebootRequired = types.BoolValue(rebootRequired(m.Persist.ValueBool(), st.Available, st.Runtime, &b))
	// override_files reports what the host holds of the files this
	// resource wrote, so a deleted or edited one shows as drift. Only what
	// the resource wrote is kept whole: of a file edited since, its
	// assignments of the key; a link there (to any file) is not held.
	held := map[string]attr.Value{}
	for p, wrote := range m.overrideFiles() {
		switch f := st.Lookup(p); {
		case f.Kind != yama.KindRegular || !f.Readable:
		case string(f.Content) == wrote:
			held[p] = types.StringValue(wrote)
		default:
			held[p] = types.StringValue(yama.KeyLines(p, f.Content))
		}
	}
	m.OverrideFiles = types.MapValueMust(types.StringType, held)
	return view, diags
}

// saveObserved records a model and its boot view as the resource's state.
func saveObserved(ctx context.Context, m *ptraceScopeResourceModel, view []byte, state *tfsdk.State, priv privateSetter, diags *diag.Diagnostics) {
	if view != nil {
		diags.Append(priv.SetKey(ctx, bootViewKey, view)...)
	}
	diags.Append(state.Set(ctx, m)...)
}

// rebootRequired: the value the host will boot with differs from the live
// one, so only a reboot brings them together (apply_runtime = false, or a
// live value locked at 3). Only meaningful when the drop-in is managed.
func rebootRequired(persist, available bool, runtime ptrace.Scope, b *yama.Boot) bool {
	return persist && available && b.Set && b.Scope != runtime
}

// managedPath is the drop-in whose value should win at boot; "" when the
// resource does not persist, or when the drop-in lives under /run, a tmpfs
// that boot starts empty: such a file sets the value until reboot only.
func (m *ptraceScopeResourceModel) managedPath() string {
	if !m.Persist.ValueBool() || yama.Volatile(m.File.ValueString()) {
		return ""
	}
	return m.File.ValueString()
}

// bootOverlay is the overlay that judges boot: a drop-in under /run that
// this resource writes is gone at the next boot.
func (m *ptraceScopeResourceModel) bootOverlay() map[string][]byte {
	overlay := map[string][]byte{}
	if f := m.File.ValueString(); m.Persist.ValueBool() && yama.Volatile(f) {
		overlay[f] = nil
	}
	return overlay
}

func (m *ptraceScopeResourceModel) overrideFiles() map[string]string {
	out := map[string]string{}
	if m.OverrideFiles.IsNull() || m.OverrideFiles.IsUnknown() {
		return out
	}
	for k, v := range m.OverrideFiles.Elements() {
		if s, ok := v.(types.String); ok {
			out[k] = s.ValueString()
		}
	}
	return out
}

func (m *ptraceScopeResourceModel) setBoot(b *yama.Boot) {
	if b == nil {
		m.BootScope, m.BootSource, m.ShadowedBy = types.Int64Null(), types.StringNull(), types.ListNull(types.StringType)
		return
	}
	m.BootScope, m.BootSource = types.Int64Null(), types.StringNull()
	if b.Set {
		m.BootScope, m.BootSource = types.Int64Value(int64(b.Scope)), types.StringValue(b.Source)
	}
	shadows := make([]attr.Value, 0, len(b.ShadowedBy))
	for _, s := range b.ShadowedBy {
		shadows = append(shadows, types.StringValue(s.String()))
	}
	m.ShadowedBy = types.ListValueMust(types.StringType, shadows)
}

// planBoot predicts the boot value after this apply, applies the shadowing
// policy, and fills the planned boot attributes and override files.
func planBoot(plan *ptraceScopeResourceModel, prior *ptraceScopeResourceModel, view *yama.BootView, runtime *ptrace.Scope, diags *diag.Diagnostics) {
	unknown := func() {
		plan.BootScope, plan.BootSource, plan.ShadowedBy = types.Int64Unknown(), types.StringUnknown(), types.ListUnknown(types.StringType)
		plan.OverrideFiles, plan.RebootRequired = types.MapUnknown(types.StringType), types.BoolUnknown()
	}
	if view == nil || plan.BootMode.IsUnknown() || plan.Shadowing.IsUnknown() || plan.File.IsUnknown() {
		unknown()
		return
	}
	mode, err := view.BootMode(plan.BootMode.ValueString())
	if err != nil {
		diags.AddAttributeError(pathBootMode, "Invalid boot_mode", err.Error())
		return
	}
	host, managed := plan.ID.ValueString(), plan.managedPath()
	overlay := plan.bootOverlay()
	if len(overlay) > 0 {
		diags.Append(volatileDropInWarning(host, plan.File.ValueString()))
	}
	var ours map[string]bool
	if prior != nil {
		ours = map[string]bool{}
		for p := range prior.overrideFiles() {
			ours[p] = true
			overlay[p] = nil // judge the host without the files this resource added
		}
	}
	var content []byte
	if managed != "" {
		content = plan.content()
		overlay[managed] = content
	}
	base, err := view.Predict(mode, overlay, managed)
	if err != nil {
		diags.Append(bootUnknownWarning(host, err))
		unknown()
		return
	}
	override := map[string]attr.Value{}
	if len(base.ShadowedBy) > 0 {
		switch plan.Shadowing.ValueString() {
		case shadowingError:
			diags.Append(shadowedDiagnostic(true, host, managed, base, plan.scope()))
			return
		case shadowingOverride:
			p, c, err := view.Override(base, managed, content, plan.scope(), ours)
			if err != nil {
				diags.Append(cannotOverrideDiagnostic(host, err))
				return
			}
			overlay[p] = c
			override[p] = types.StringValue(string(c))
		default:
			diags.Append(shadowedDiagnostic(false, host, managed, base, plan.scope()))
		}
	}
	final, err := view.Predict(mode, overlay, managed)
	if err != nil {
		diags.Append(bootUnknownWarning(host, err))
		unknown()
		return
	}
	plan.setBoot(&final)
	plan.OverrideFiles = types.MapValueMust(types.StringType, override)
	if runtime == nil {
		plan.RebootRequired = types.BoolUnknown()
	} else {
		plan.RebootRequired = types.BoolValue(rebootRequired(plan.Persist.ValueBool(), true, *runtime, &final))
	}
}

// describeShadows lists shadows for a message, one per line.
func describeShadows(b yama.Boot) string {
	var lines []string
	for _, s := range b.ShadowedBy {
		if s.Line == 0 {
			lines = append(lines, fmt.Sprintf("  - %s %s", s.File, s.Why))
			continue
		}
		via := ""
		if s.Entry != s.File {
			via = " (through " + s.Entry + ")"
		}
		lines = append(lines, fmt.Sprintf("  - %s:%d%s sets %s and %s", s.File, s.Line, via, s.Value, s.Why))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// viewFromPrivate loads the boot view that the last refresh stored.
func viewFromPrivate(raw []byte) *yama.BootView {
	if raw == nil {
		return nil
	}
	var v yama.BootView
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return &v
}
