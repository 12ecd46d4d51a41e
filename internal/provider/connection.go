package provider

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// connectionModel is the set of SSH settings the provider block holds as
// defaults and every `ssh` block may override, attribute by attribute.
type connectionModel struct {
	User                  types.String `tfsdk:"user"`
	Port                  types.Int64  `tfsdk:"port"`
	PrivateKey            types.String `tfsdk:"private_key"`
	PrivateKeyPassphrase  types.String `tfsdk:"private_key_passphrase"`
	Password              types.String `tfsdk:"password"`
	Agent                 types.Bool   `tfsdk:"agent"`
	KnownHostsFile        types.String `tfsdk:"known_hosts_file"`
	HostKey               types.String `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
	Sudo                  types.Bool   `tfsdk:"sudo"`
	SudoPassword          types.String `tfsdk:"sudo_password"`
	Timeout               types.String `tfsdk:"timeout"`
}

// Environment variables read when the provider block leaves a setting out.
const (
	envUser         = "YAMA_SSH_USER"
	envPrivateKey   = "YAMA_SSH_PRIVATE_KEY"
	envPassword     = "YAMA_SSH_PASSWORD"
	envKnownHosts   = "YAMA_SSH_KNOWN_HOSTS_FILE"
	envSudoPassword = "YAMA_SUDO_PASSWORD"
	envAgentSocket  = "SSH_AUTH_SOCK"
)

// connectionDefaults turns the provider block into the base sshclient
// configuration, filling gaps from the environment.
func connectionDefaults(m connectionModel) (sshclient.Config, error) {
	cfg := sshclient.Config{
		User:                 stringOr(m.User, os.Getenv(envUser)),
		PrivateKey:           stringOr(m.PrivateKey, os.Getenv(envPrivateKey)),
		PrivateKeyPassphrase: m.PrivateKeyPassphrase.ValueString(),
		Password:             stringOr(m.Password, os.Getenv(envPassword)),
		KnownHostsFile:       stringOr(m.KnownHostsFile, os.Getenv(envKnownHosts)),
		HostKey:              m.HostKey.ValueString(),
		SudoPassword:         stringOr(m.SudoPassword, os.Getenv(envSudoPassword)),
		Port:                 int(m.Port.ValueInt64()),
	}
	cfg.InsecureIgnoreHostKey = m.InsecureIgnoreHostKey.ValueBool()
	cfg.Sudo = m.Sudo.ValueBool()
	// Like Terraform's own connection block: use a running agent when no
	// other credential is given, unless agent = false says otherwise.
	if m.Agent.IsNull() {
		cfg.Agent = cfg.PrivateKey == "" && cfg.Password == "" && os.Getenv(envAgentSocket) != ""
	} else {
		cfg.Agent = m.Agent.ValueBool()
	}
	if !m.Timeout.IsNull() {
		d, err := time.ParseDuration(m.Timeout.ValueString())
		if err != nil {
			return cfg, fmt.Errorf("timeout %q: %w", m.Timeout.ValueString(), err)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// override applies the attributes an `ssh` block sets on top of base.
func override(base sshclient.Config, m *connectionModel) (sshclient.Config, error) {
	cfg, err := merge(base, m)
	if !cfg.Sudo {
		// A sudo password (e.g. from the environment) means nothing when
		// sudo is off, and must not be held or sent.
		cfg.SudoPassword = ""
	}
	return cfg, err
}

func merge(base sshclient.Config, m *connectionModel) (sshclient.Config, error) {
	if m == nil {
		return base, nil
	}
	cfg := base
	setString(&cfg.User, m.User)
	setString(&cfg.PrivateKey, m.PrivateKey)
	setString(&cfg.PrivateKeyPassphrase, m.PrivateKeyPassphrase)
	setString(&cfg.Password, m.Password)
	setString(&cfg.KnownHostsFile, m.KnownHostsFile)
	setString(&cfg.SudoPassword, m.SudoPassword)
	setBool(&cfg.Agent, m.Agent)
	setBool(&cfg.InsecureIgnoreHostKey, m.InsecureIgnoreHostKey)
	setBool(&cfg.Sudo, m.Sudo)
	if !m.Port.IsNull() && !m.Port.IsUnknown() {
		cfg.Port = int(m.Port.ValueInt64())
	}
	if !m.HostKey.IsNull() && !m.HostKey.IsUnknown() {
		// A pinned key is a policy of its own: it replaces, rather than
		// adds to, an insecure default inherited from the provider.
		cfg.HostKey = m.HostKey.ValueString()
		if m.InsecureIgnoreHostKey.IsNull() {
			cfg.InsecureIgnoreHostKey = false
		}
	}
	if !m.Timeout.IsNull() && !m.Timeout.IsUnknown() {
		d, err := time.ParseDuration(m.Timeout.ValueString())
		if err != nil {
			return cfg, fmt.Errorf("ssh.timeout %q: %w", m.Timeout.ValueString(), err)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// knownConnection reports whether every attribute of an `ssh` block is
// known, so a plan can contact the host.
func knownConnection(m *connectionModel) bool {
	if m == nil {
		return true
	}
	for _, v := range []interface{ IsUnknown() bool }{
		m.User, m.Port, m.PrivateKey, m.PrivateKeyPassphrase, m.Password, m.Agent,
		m.KnownHostsFile, m.HostKey, m.InsecureIgnoreHostKey, m.Sudo, m.SudoPassword, m.Timeout,
	} {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

func stringOr(v types.String, fallback string) string {
	if v.IsNull() || v.IsUnknown() {
		return fallback
	}
	return v.ValueString()
}

func setString(dst *string, v types.String) {
	if !v.IsNull() && !v.IsUnknown() {
		*dst = v.ValueString()
	}
}

func setBool(dst *bool, v types.Bool) {
	if !v.IsNull() && !v.IsUnknown() {
		*dst = v.ValueBool()
	}
}
