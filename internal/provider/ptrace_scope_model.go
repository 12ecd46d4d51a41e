package provider

import (
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// ptraceScopeResourceModel is the resource's Terraform state.
type ptraceScopeResourceModel struct {
	ID             types.String     `tfsdk:"id"`
	Host           types.String     `tfsdk:"host"`
	SSH            *connectionModel `tfsdk:"ssh"`
	Scope          types.Int64      `tfsdk:"scope"`
	Persist        types.Bool       `tfsdk:"persist"`
	ApplyRuntime   types.Bool       `tfsdk:"apply_runtime"`
	File           types.String     `tfsdk:"file"`
	Comment        types.String     `tfsdk:"comment"`
	OnDestroy      types.String     `tfsdk:"on_destroy"`
	RuntimeScope   types.Int64      `tfsdk:"runtime_scope"`
	Mode           types.String     `tfsdk:"mode"`
	FileContent    types.String     `tfsdk:"file_content"`
	RebootRequired types.Bool       `tfsdk:"reboot_required"`
	Shadowing      types.String     `tfsdk:"shadowing"`
	BootMode       types.String     `tfsdk:"boot_mode"`
	BootScope      types.Int64      `tfsdk:"boot_scope"`
	BootSource     types.String     `tfsdk:"boot_source"`
	ShadowedBy     types.List       `tfsdk:"shadowed_by"`
	OverrideFiles  types.Map        `tfsdk:"override_files"`
	// HostKeyPinned is the key accepted with accept_new_host_key (tofu.go).
	HostKeyPinned types.String `tfsdk:"host_key_pinned"`
}

// The on_destroy choices.
const (
	onDestroyRestore = "restore"
	onDestroyKeep    = "keep"
	onDestroyRemove  = "remove"
)

func (m *ptraceScopeResourceModel) scope() ptrace.Scope { return ptrace.Scope(m.Scope.ValueInt64()) }

// content is the drop-in this configuration asks for.
func (m *ptraceScopeResourceModel) content() []byte {
	return sysctld.Render(yama.Key, m.scope().String(), m.Comment.ValueString())
}

// desired is what the host should hold under this configuration.
func (m *ptraceScopeResourceModel) desired() yama.Desired {
	d := yama.Desired{File: m.File.ValueString()}
	if m.Persist.ValueBool() {
		d.Content = m.content()
	}
	if m.ApplyRuntime.ValueBool() {
		s := m.scope()
		d.Runtime = &s
	}
	return d
}

// observe copies what the host holds into the computed attributes.
func (m *ptraceScopeResourceModel) observe(st *yama.State) {
	if st.Available {
		m.RuntimeScope = types.Int64Value(int64(st.Runtime))
		m.Mode = types.StringValue(st.Runtime.Mode())
	} else {
		m.RuntimeScope, m.Mode = types.Int64Null(), types.StringNull()
	}
	if st.Managed.Exists() && st.Managed.Readable {
		m.FileContent = types.StringValue(string(st.Managed.Content))
	} else {
		m.FileContent = types.StringNull()
	}
}

// adoptFromHost fills the configuration-side attributes of an imported
// resource from what the host holds, so that a plan right after import
// shows no change when the host already matches a configuration using the
// defaults.
func (m *ptraceScopeResourceModel) adoptFromHost(st *yama.State) {
	m.Persist, m.ApplyRuntime = types.BoolValue(true), types.BoolValue(true)
	m.OnDestroy = types.StringValue(onDestroyRestore)
	m.Shadowing, m.BootMode = types.StringValue(shadowingWarn), types.StringValue(bootModeAuto)
	m.OverrideFiles = types.MapValueMust(types.StringType, map[string]attr.Value{})
	if m.File.IsNull() {
		m.File = types.StringValue(yama.DefaultFile)
	}
	scope, comment, ok := parseRendered(st.Managed.Content)
	if s, err := ptrace.Parse(scope); ok && err == nil {
		m.Scope = types.Int64Value(int64(s))
		if comment != "" {
			m.Comment = types.StringValue(comment)
		}
		return
	}
	if st.Available {
		m.Scope = types.Int64Value(int64(st.Runtime))
	}
	if !st.Managed.Exists() {
		// No drop-in: the host persists nothing, and a configuration
		// generated from this state (-generate-config-out) must say so to
		// plan no change.
		m.Persist = types.BoolValue(false)
	}
}

// parseRendered inverts sysctld.Render for a drop-in this provider wrote:
// it returns the value and comment only when rendering them again gives
// back exactly the same bytes.
func parseRendered(content []byte) (value, comment string, ok bool) {
	text := string(content)
	if c, rest, found := strings.Cut(text, "\n"); found && strings.HasPrefix(c, "# ") {
		comment, text = strings.TrimPrefix(c, "# "), rest
	}
	value, found := strings.CutPrefix(strings.TrimSuffix(text, "\n"), yama.Key+" = ")
	if !found {
		return "", "", false
	}
	if s, err := ptrace.Parse(value); err != nil || s.String() != value {
		// Only a scope as Render writes it: " 2" or "1\n" (a trailing
		// blank line) read as a scope, but a configuration adopting it
		// would render different bytes.
		return "", "", false
	}
	return value, comment, string(sysctld.Render(yama.Key, value, comment)) == string(content)
}
