package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Resource identity (Terraform >= 1.12): host, port and file, for
// `import { identity = { host = ..., file = ... } }`. Terraform versions
// without identity support never see it (the requests carry no identity).

var _ resource.ResourceWithIdentity = (*ptraceScopeResource)(nil)

type identityModel struct {
	Host types.String `tfsdk:"host"`
	Port types.Int64  `tfsdk:"port"`
	File types.String `tfsdk:"file"`
}

func (r *ptraceScopeResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{Attributes: map[string]identityschema.Attribute{
		"host": identityschema.StringAttribute{RequiredForImport: true, Description: "Host name or IP address, as the resource's host."},
		"port": identityschema.Int64Attribute{OptionalForImport: true, Description: "SSH port. Default: 22."},
		"file": identityschema.StringAttribute{OptionalForImport: true, Description: "The managed drop-in. Default: " + yama.DefaultFile + "."},
	}}
}

// setIdentity records the identity of the resource m (from its id and
// file); nil when Terraform has no identity support.
func setIdentity(ctx context.Context, id *tfsdk.ResourceIdentity, m ptraceScopeResourceModel, diags *diag.Diagnostics) {
	if id == nil || m.ID.IsNull() || m.ID.IsUnknown() {
		return
	}
	host, port, err := parseImportID(m.ID.ValueString())
	if err != nil {
		return
	}
	if port == 0 {
		port = sshclient.DefaultPort
	}
	file := m.File
	if file.IsNull() || file.IsUnknown() {
		file = types.StringValue(yama.DefaultFile)
	}
	diags.Append(id.Set(ctx, identityModel{Host: types.StringValue(host), Port: types.Int64Value(int64(port)), File: file})...)
}

// importByIdentity turns an import block's identity into the import ID
// form; ok is false when the import is by ID.
func importByIdentity(ctx context.Context, req resource.ImportStateRequest, diags *diag.Diagnostics) (id string, ok bool) {
	if req.ID != "" || req.Identity == nil {
		return "", false
	}
	var m identityModel
	if d := req.Identity.Get(ctx, &m); d.HasError() {
		diags.Append(d...)
		return "", false
	}
	id = m.Host.ValueString()
	if !m.Port.IsNull() {
		id = hostID(id, int(m.Port.ValueInt64()))
	}
	if !m.File.IsNull() && m.File.ValueString() != "" {
		id += "," + m.File.ValueString()
	}
	return id, true
}
