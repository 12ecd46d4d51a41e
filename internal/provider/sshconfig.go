package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/sshconfig"
)

// withSSHConfig sets cfg.Host to host (the alias, as `host` is written) and
// applies ssh_config_file for it: the file's settings fill what Terraform
// leaves unset. Its StrictHostKeyChecking no is warned about like
// insecure_ignore_host_key.
func withSSHConfig(cfg sshclient.Config, host string) (sshclient.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	cfg.Host = host
	out, warnings, err := sshconfig.Apply(cfg)
	if err != nil {
		diags.AddError("Invalid ssh_config_file for "+host, err.Error())
		return cfg, diags
	}
	for _, w := range warnings {
		diags.AddWarning("Host key not verified for "+host, w+". Anyone who can intercept the connection can capture credentials and change the host. Prefer StrictHostKeyChecking accept-new (pinned in state) or a known_hosts entry.")
	}
	return out, diags
}

const sshConfigFileDescription = "An OpenSSH client configuration file (e.g. the output of `vagrant ssh-config`, or `~/.ssh/config`) to read for this host, as OpenSSH would, " +
	"with `host` as the alias to look up. Honoured: `HostName`, `User`, `Port`, `IdentityFile` (the first that exists), `IdentitiesOnly`, `CertificateFile`, `ProxyJump` " +
	"(each hop looked up in the same file), `UserKnownHostsFile`, `StrictHostKeyChecking` (`yes`; `accept-new` = `accept_new_host_key`; `no` = `insecure_ignore_host_key`, warned about), " +
	"`ConnectTimeout` and `IdentityAgent`; `Host` blocks, `Match host`/`Match all` and `Include` as OpenSSH reads them. Settings written in Terraform win over the file. " +
	"Keywords that would change how the host is reached or trusted and are not supported (`ProxyCommand`, `Match exec`, `LocalCommand`, `RemoteCommand`, `KnownHostsCommand`, " +
	"`HostKeyAlias`, `CanonicalizeHostname yes`) are errors, never silently ignored. Other keywords are ignored. `vagrant ssh-config` output works as is " +
	"(its `StrictHostKeyChecking no` is warned about; set `accept_new_host_key = true` as well to pin the VM's key instead). The resource's `id` is the address the file resolves to. Default: none."
