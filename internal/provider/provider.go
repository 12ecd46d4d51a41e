// Package provider is the Terraform adapter: schema, models, CRUD, plan
// modification and the mapping of domain errors to diagnostics. It is the
// only package that imports terraform-plugin-*.
package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

var _ provider.Provider = (*YamaProvider)(nil)

// YamaProvider manages kernel.yama.ptrace_scope on hosts over SSH.
type YamaProvider struct {
	version string
	hosts   hostOpener
}

// hostOpener returns the host a resolved configuration names, ready to run
// scripts; it validates the configuration but does not dial. It is the
// provider's seam: the SSH pool in production, local hosts in unit tests
// (as hashicorp/terraform's communicator has a mock).
type hostOpener func(cfg sshclient.Config) (yama.Host, error)

// providerData is what Configure hands to resources and data sources.
type providerData struct {
	hosts    hostOpener
	defaults sshclient.Config
	// onUnreachable is on_unreachable (unreachable.go): "" or "fail", "warn".
	onUnreachable string
}

// New returns a constructor for the provider, as providerserver expects.
// Its hosts come from one SSH pool per provider process, which holds one
// connection per host, shared by every resource and data source of it.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		pool := sshclient.NewPool(sshclient.WithLogger(logTransport))
		return newProvider(version, func(cfg sshclient.Config) (yama.Host, error) { return pool.Host(cfg) })
	}
}

func newProvider(version string, hosts hostOpener) *YamaProvider {
	return &YamaProvider{version: version, hosts: hosts}
}

// logTransport forwards the SSH pool's events (dials, handshakes, sessions)
// to Terraform's debug log; the pool never puts secrets in them.
func logTransport(ctx context.Context, msg string, fields map[string]any) {
	if msg == sshclient.MsgWaiting {
		tflog.Info(ctx, msg, fields) // wait_for_ssh retries: worth seeing at TF_LOG=INFO
		return
	}
	tflog.Debug(ctx, msg, fields)
}

func (p *YamaProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "yama"
	resp.Version = p.version
}

func (p *YamaProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages the Linux Yama LSM setting `kernel.yama.ptrace_scope` on hosts over SSH: " +
			"the live value in `/proc/sys` and the persistent sysctl.d drop-in. The attributes here are connection " +
			"defaults; each resource's or data source's `ssh` block can override any of them.",
		Attributes: providerAttributes(),
		Blocks:     providerConnectionBlocks(),
	}
}

func (p *YamaProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var pm providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &pm)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := pm.connectionModel
	defaults, err := connectionDefaults(m)
	if err != nil {
		resp.Diagnostics.AddError("Invalid provider configuration", err.Error())
		return
	}
	if defaults.InsecureIgnoreHostKey {
		resp.Diagnostics.Append(insecureHostKeyWarning("the provider block"))
	}
	data := &providerData{hosts: p.hosts, defaults: defaults, onUnreachable: pm.OnUnreachable.ValueString()}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *YamaProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewPtraceScopeResource}
}

func (p *YamaProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewPtraceScopeDataSource}
}

// providerDataOf is what Configure hands resources and data sources; nil
// before the provider is configured (e.g. during validation).
func providerDataOf(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	data, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("got %T; this is a bug in the provider", v))
	}
	return data
}
