package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// on_unreachable: what a read does with a host that cannot be reached.
// "fail" (the default) makes it an error, as before; "warn" lets a fleet's
// plan go on: a refresh keeps the prior state, the data source reports
// reachable = false, a plan-time read leaves what it would have learnt
// unknown, each with a warning naming the host and the error. Writes
// (create, update, destroy) always fail for an unreachable host.
const (
	onUnreachableFail = "fail"
	onUnreachableWarn = "warn"
)

// providerModel is the provider block: the connection defaults and the
// provider-only settings.
type providerModel struct {
	connectionModel
	OnUnreachable types.String `tfsdk:"on_unreachable"`
}

// providerAttributes is the provider block's schema attributes.
func providerAttributes() map[string]pschema.Attribute {
	out := providerConnectionAttributes()
	out["on_unreachable"] = pschema.StringAttribute{Optional: true,
		MarkdownDescription: "What a read does with a host that cannot be reached (connection refused, no route, connect or SSH handshake timeout; " +
			"not authentication or host-key failures, which stay errors): `fail` (default) makes it an error, which stops the whole plan; " +
			"`warn` keeps the resource's prior state (the data source sets `reachable = false` and its other values null) with a warning " +
			"naming the host and the error, so the plan goes on for the other hosts. Creating, changing or destroying an unreachable host still fails, for that host only. " +
			"See the fleet guide for the CI pattern.",
		Validators: []validator.String{stringvalidator.OneOf(onUnreachableFail, onUnreachableWarn)}}
	return out
}

// unreachable: the host could not be reached at all, as opposed to a host
// that answered and refused (authentication, host key, sudo, a command).
func unreachable(err error) bool {
	return errors.Is(err, sshclient.ErrUnreachable) || errors.Is(err, sshclient.ErrHandshakeTimeout)
}

// tolerate reports whether a read's error is an unreachable host that the
// provider is configured to warn about (on_unreachable = "warn"); if so it
// adds the warning, saying what was kept (kept: "the resource keeps its
// prior state", ...).
func (d *providerData) tolerate(ctx context.Context, host string, err error, kept string, diags *diag.Diagnostics) bool {
	if d == nil || d.onUnreachable != onUnreachableWarn || !unreachable(err) {
		return false
	}
	tflog.Warn(ctx, "host unreachable; on_unreachable = warn", map[string]any{"host": host, "error": err.Error()})
	diags.AddWarning("Host unreachable: "+host,
		fmt.Sprintf("Could not reach %s: %s.\n%s, because the provider block sets on_unreachable = \"warn\"; the plan goes on for the other hosts. "+
			"Nothing on %s was read, so its drift is not known. A create, change or destroy of this host will fail until it is reachable.", host, err, kept, host))
	return true
}

func reachableAttribute() dsschema.Attribute {
	return dsschema.BoolAttribute{Computed: true,
		MarkdownDescription: "Whether the host could be reached. Always `true` unless the provider block sets `on_unreachable = \"warn\"`: then an unreachable host gives `false`, " +
			"with `available`, `scope` and the other values read from the host null, and a warning naming the host and the error."}
}

// setUnreachable is the data source's result for a host that could not be
// reached: reachable = false, every value read from the host null.
func (m *ptraceScopeDataSourceModel) setUnreachable(id string) {
	m.ID, m.Reachable = types.StringValue(id), types.BoolValue(false)
	m.Available, m.Locked, m.FileExists = types.BoolNull(), types.BoolNull(), types.BoolNull()
	m.Scope, m.Mode, m.FileContent = types.Int64Null(), types.StringNull(), types.StringNull()
	m.BootScope, m.BootSource, m.BootLoader = types.Int64Null(), types.StringNull(), types.StringNull()
	if m.BootMode.IsNull() {
		m.BootMode = types.StringValue(bootModeAuto)
	}
	m.Assignments = types.ListNull(types.ObjectType{AttrTypes: assignmentAttrTypes})
	dropSecrets(m.SSH)
}
