package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// accept_new_host_key: trust on first use, with the key pinned in the
// resource's state (host_key_pinned). The resource's operations put the
// key they hold into the context (withHostKeyPin) before they connect, so
// every connection made for a resource, by whichever helper, requires it;
// a connection made without one (a data source) never accepts a new key.

type hostKeyPinKey struct{}

// withHostKeyPin allows trust on first use for the connections made with
// ctx: pin is the key recorded in the plan or state (null or unknown: none
// yet, first contact).
func withHostKeyPin(ctx context.Context, pin types.String) context.Context {
	return context.WithValue(ctx, hostKeyPinKey{}, pin.ValueString())
}

// applyHostKeyPin sets the trust-on-first-use part of cfg for a connection
// made with ctx. Without a pin policy in ctx (data sources) a new key is
// never accepted, and a configuration that asks for it is warned about.
func applyHostKeyPin(ctx context.Context, cfg *sshclient.Config, host string) diag.Diagnostics {
	var diags diag.Diagnostics
	if !cfg.AcceptNewHostKey {
		return nil
	}
	pin, ok := ctx.Value(hostKeyPinKey{}).(string)
	if !ok {
		cfg.AcceptNewHostKey = false
		if cfg.HostKey == "" && !cfg.InsecureIgnoreHostKey {
			diags.AddWarning("accept_new_host_key does not apply to data sources ("+host+")",
				"A data source has no state in which to pin a host key, so accepting a new key would trust whatever answers at that address on every run. "+
					"The data source verifies the host key with known_hosts as usual. To read a host that a yama_ptrace_scope resource manages, pass its pinned key: "+
					"`ssh { host_key = yama_ptrace_scope.NAME.host_key_pinned }`.")
		}
		return diags
	}
	if pinsKey(*cfg) {
		cfg.AcceptedHostKey = pin
	}
	return nil
}

// pinsKey reports whether a resource with cfg records host_key_pinned: with
// accept_new_host_key, unless a host_key pin or insecure_ignore_host_key
// decides instead.
func pinsKey(cfg sshclient.Config) bool {
	return cfg.AcceptNewHostKey && cfg.HostKey == "" && !cfg.InsecureIgnoreHostKey
}

// seenHostKey is the value of host_key_pinned after t's connection: the key
// the host presented (verified by known_hosts, or accepted on first use, or
// equal to the recorded one), or null when the resource does not pin.
func seenHostKey(t *target) types.String {
	if !pinsKey(t.cfg) {
		return types.StringNull()
	}
	if h, ok := t.host.(interface{ HostKeySeen() string }); ok {
		if k := h.HostKeySeen(); k != "" {
			return types.StringValue(k)
		}
	}
	return types.StringNull()
}

// plannedHostKeyPin is host_key_pinned in a plan: the recorded key for an
// existing resource, the key the plan's read saw for a create, unknown
// when the plan did not connect.
func plannedHostKeyPin(cfg sshclient.Config, prior *ptraceScopeResourceModel, seen string) types.String {
	switch {
	case !pinsKey(cfg):
		return types.StringNull()
	case prior != nil && !prior.HostKeyPinned.IsUnknown():
		return prior.HostKeyPinned // the refresh pinned what it saw
	case seen != "":
		return types.StringValue(seen)
	}
	return types.StringUnknown()
}

const hostKeyPinnedDescription = "The host's public key (`ssh-ed25519 AAAA...`, authorized_keys format), recorded when `accept_new_host_key` is on and no `host_key` is set: " +
	"the key accepted on first contact (at plan time for a create, at import for an import), or the one known_hosts verified. Every later connection for this " +
	"resource (refresh, update, destroy, in any later run, with any known_hosts) requires exactly this key while known_hosts has no entry for the host; " +
	"another key fails with the host-key-changed error naming both fingerprints. Null when `accept_new_host_key` is off. To trust a rebuilt host's new key, " +
	"verify it out of band and replace the resource (`terraform apply -replace`), or add the key to known_hosts."

// withPriorHostKeyPin is withHostKeyPin for a plan: the prior state's key,
// none for a create.
func withPriorHostKeyPin(ctx context.Context, prior *ptraceScopeResourceModel) context.Context {
	if prior == nil {
		return withHostKeyPin(ctx, types.StringNull())
	}
	return withHostKeyPin(ctx, prior.HostKeyPinned)
}

// appliedHostKeyPin is host_key_pinned after a create or update: the
// plan's value when it has one (the connection required that key), else
// the key the apply's connection saw.
func appliedHostKeyPin(plan ptraceScopeResourceModel, t *target) types.String {
	if !plan.HostKeyPinned.IsUnknown() {
		return plan.HostKeyPinned
	}
	return seenHostKey(t)
}
