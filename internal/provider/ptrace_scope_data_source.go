package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

var (
	_ datasource.DataSource              = (*ptraceScopeDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*ptraceScopeDataSource)(nil)
)

// NewPtraceScopeDataSource is the yama_ptrace_scope data source constructor.
func NewPtraceScopeDataSource() datasource.DataSource { return &ptraceScopeDataSource{} }

type ptraceScopeDataSource struct {
	data *providerData
}

type ptraceScopeDataSourceModel struct {
	ID          types.String     `tfsdk:"id"`
	Host        types.String     `tfsdk:"host"`
	SSH         *connectionModel `tfsdk:"ssh"`
	File        types.String     `tfsdk:"file"`
	Available   types.Bool       `tfsdk:"available"`
	Scope       types.Int64      `tfsdk:"scope"`
	Mode        types.String     `tfsdk:"mode"`
	Locked      types.Bool       `tfsdk:"locked"`
	FileExists  types.Bool       `tfsdk:"file_exists"`
	FileContent types.String     `tfsdk:"file_content"`
	Reachable   types.Bool       `tfsdk:"reachable"`
	BootMode    types.String     `tfsdk:"boot_mode"`
	BootLoader  types.String     `tfsdk:"boot_loader"`
	BootScope   types.Int64      `tfsdk:"boot_scope"`
	BootSource  types.String     `tfsdk:"boot_source"`
	Assignments types.List       `tfsdk:"assignments"`
}

// assignmentAttrTypes describes one element of the assignments list.
var assignmentAttrTypes = map[string]attr.Type{
	"file":    types.StringType,
	"entry":   types.StringType,
	"line":    types.Int64Type,
	"value":   types.StringType,
	"outcome": types.StringType,
}

func (d *ptraceScopeDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ptrace_scope"
}

func (d *ptraceScopeDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads `kernel.yama.ptrace_scope` from a host over SSH: whether Yama is enabled, the live value, " +
			"and the drop-in. Reading never needs root or sudo. A `check` block on it reports drift in `terraform plan` as a warning (the plan still exits 0); " +
			"a `postcondition` on it fails the plan. See the drift-detection guide. The `ssh` block's secrets are left out of the result, which Terraform stores in state.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`host:port`."},
			"host": schema.StringAttribute{Required: true, MarkdownDescription: "Host name or IP address to connect to.",
				Validators: []validator.String{hostValidator}},
			"file": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Drop-in to report on. Default: `" + yama.DefaultFile + "`. A symbolic link, hard link, directory or device there is an error naming it: nothing is read through it.",
				Validators:          []validator.String{fileValidator}},
			"reachable": reachableAttribute(),
			"available": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether the kernel has Yama (`" + yama.ProcPath + "` exists)."},
			"scope": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The live value, `0`-`3`; null when Yama is not available."},
			"mode": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Name of the live value: `classic`, `restricted`, `admin-only` or `no-attach`; null when Yama is not available."},
			"locked": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "True when the live value is 3, which the kernel will not change until reboot."},
			"file_exists": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the drop-in exists."},
			"file_content": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The drop-in's content; null when it does not exist or cannot be read by the login user."},
			"boot_mode": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Which loader to model for the boot value: `systemd`, `procps` or `auto` (default: `systemd` when systemd is the host's init). See the resource's `boot_mode`.",
				Validators:          []validator.String{stringvalidator.OneOf(bootModeAuto, bootModeSystemd, bootModeProcps)}},
			"boot_loader": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The loader `boot_scope` was predicted for: `boot_mode` when set, else what `auto` picked on this host (`systemd` when systemd is its init, else `procps`); null when the files cannot be read."},
			"boot_scope": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The value the host will boot with, from its sysctl.d files; null when no file sets it (the kernel's built-in default applies) or the files cannot be read."},
			"boot_source": schema.StringAttribute{Computed: true,
				MarkdownDescription: "`path:line` of the assignment that sets `boot_scope`."},
			"assignments": schema.ListNestedAttribute{Computed: true,
				MarkdownDescription: "Every line that sets (or excludes) the key at boot, in the order boot applies them.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"file":  schema.StringAttribute{Computed: true, MarkdownDescription: "File holding the line (symlinks resolved)."},
					"entry": schema.StringAttribute{Computed: true, MarkdownDescription: "The sysctl.d entry boot opened to reach `file` (differs for a symlink such as `99-sysctl.conf`)."},
					"line":  schema.Int64Attribute{Computed: true, MarkdownDescription: "1-based line number."},
					"value": schema.StringAttribute{Computed: true, MarkdownDescription: "The value the line assigns (empty for an exclusion)."},
					"outcome": schema.StringAttribute{Computed: true,
						MarkdownDescription: "What boot does with it: `written`, `failed` (refused, e.g. after 3 locked the key), `replaced` or `merged` (systemd writes a key once), `skipped` (a glob beaten by an explicit key) or `excluded`."},
				}}},
		},
		Blocks: map[string]schema.Block{"ssh": dataSourceSSHBlock()},
	}
}

func (d *ptraceScopeDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataOf(req.ProviderData, &resp.Diagnostics)
}

func (d *ptraceScopeDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m ptraceScopeDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.File.IsNull() {
		m.File = types.StringValue(yama.DefaultFile)
	}
	t, diags := d.data.connect(ctx, m.Host.ValueString(), m.SSH)
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	if t.cfg.InsecureIgnoreHostKey && !d.data.defaults.InsecureIgnoreHostKey {
		resp.Diagnostics.Append(insecureHostKeyWarning("the ssh block of the data source for " + m.Host.ValueString()))
	}
	st, err := yama.Read(t.ctx, t.host, m.File.ValueString())
	if err != nil && d.data.tolerate(t.ctx, t.host.Name(), err, "The data source reports reachable = false with its other values null", &resp.Diagnostics) {
		m.setUnreachable(t.host.Name()) // on_unreachable = "warn" (unreachable.go)
		resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
		return
	}
	m.ID, m.Reachable = types.StringValue(t.host.Name()), types.BoolValue(true)
	m.Available = types.BoolValue(st.Available)
	m.Locked = types.BoolValue(st.Locked())
	m.Scope, m.Mode = types.Int64Null(), types.StringNull()
	if st.Available {
		m.Scope, m.Mode = types.Int64Value(int64(st.Runtime)), types.StringValue(st.Runtime.Mode())
	}
	m.FileExists = types.BoolValue(st.Managed.Exists())
	m.FileContent = types.StringNull()
	if st.Managed.Exists() && st.Managed.Readable {
		m.FileContent = types.StringValue(string(st.Managed.Content))
	}
	m.boot(st, &resp.Diagnostics)
	dropSecrets(m.SSH) // the result is stored in state
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// boot fills the boot-time attributes from the host's sysctl files.
func (m *ptraceScopeDataSourceModel) boot(st *yama.State, diags *diag.Diagnostics) {
	m.BootScope, m.BootSource, m.BootLoader = types.Int64Null(), types.StringNull(), types.StringNull()
	m.Assignments = types.ListNull(types.ObjectType{AttrTypes: assignmentAttrTypes})
	if m.BootMode.IsNull() {
		m.BootMode = types.StringValue(bootModeAuto)
	}
	view, err := st.BootView()
	if err != nil {
		diags.Append(bootUnknownWarning(m.Host.ValueString(), err))
		return
	}
	mode, err := view.BootMode(m.BootMode.ValueString())
	if err != nil {
		diags.AddError("Invalid boot_mode", err.Error())
		return
	}
	m.BootLoader = types.StringValue(mode.String())
	b, err := view.Predict(mode, nil, "")
	if err != nil {
		diags.Append(bootUnknownWarning(m.Host.ValueString(), err))
		return
	}
	if b.Set {
		m.BootScope, m.BootSource = types.Int64Value(int64(b.Scope)), types.StringValue(b.Source)
	}
	items := make([]attr.Value, 0, len(b.Result.Applied))
	for _, s := range b.Result.Applied {
		entry := s.Via
		if entry == "" {
			entry = s.File
		}
		items = append(items, types.ObjectValueMust(assignmentAttrTypes, map[string]attr.Value{
			"file": types.StringValue(s.File), "entry": types.StringValue(entry), "line": types.Int64Value(int64(s.Line)),
			"value": types.StringValue(s.Value), "outcome": types.StringValue(s.Outcome.String()),
		}))
	}
	m.Assignments = types.ListValueMust(types.ObjectType{AttrTypes: assignmentAttrTypes}, items)
}
