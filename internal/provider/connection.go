package provider

import (
	"context"
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
	Certificate           types.String `tfsdk:"certificate"`
	Password              types.String `tfsdk:"password"`
	Agent                 types.Bool   `tfsdk:"agent"`
	AgentIdentity         types.String `tfsdk:"agent_identity"`
	KnownHostsFile        types.String `tfsdk:"known_hosts_file"`
	HostKey               types.String `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
	Sudo                  types.Bool   `tfsdk:"sudo"`
	SudoPassword          types.String `tfsdk:"sudo_password"`
	Timeout               types.String `tfsdk:"timeout"`
	// Bastion is a list of bastionModel (a types.List, so that a `dynamic`
	// block with a not yet known for_each can be planned).
	Bastion types.List `tfsdk:"bastion"`
}

// bastionModel is one `bastion` block: a subset of the connection
// attributes plus the bastion's host.
type bastionModel struct {
	Host                  types.String `tfsdk:"host"`
	User                  types.String `tfsdk:"user"`
	Port                  types.Int64  `tfsdk:"port"`
	PrivateKey            types.String `tfsdk:"private_key"`
	PrivateKeyPassphrase  types.String `tfsdk:"private_key_passphrase"`
	Certificate           types.String `tfsdk:"certificate"`
	Password              types.String `tfsdk:"password"`
	Agent                 types.Bool   `tfsdk:"agent"`
	AgentIdentity         types.String `tfsdk:"agent_identity"`
	KnownHostsFile        types.String `tfsdk:"known_hosts_file"`
	HostKey               types.String `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
}

// connection returns the bastion's settings as an ssh-block override, so
// that bastions inherit exactly as ssh blocks do.
func (b bastionModel) connection() *connectionModel {
	return &connectionModel{
		User: b.User, Port: b.Port, PrivateKey: b.PrivateKey, PrivateKeyPassphrase: b.PrivateKeyPassphrase,
		Certificate: b.Certificate, Password: b.Password, Agent: b.Agent, AgentIdentity: b.AgentIdentity,
		KnownHostsFile: b.KnownHostsFile, HostKey: b.HostKey, InsecureIgnoreHostKey: b.InsecureIgnoreHostKey,
		Sudo: types.BoolNull(), SudoPassword: types.StringNull(), Timeout: types.StringNull(),
	}
}

// bastions reads a list of bastion blocks; ok is false when there are none
// (or the list is null, as in a model built in code).
func bastions(l types.List) ([]bastionModel, bool, error) {
	if l.IsNull() || l.IsUnknown() || len(l.Elements()) == 0 {
		return nil, false, nil
	}
	var out []bastionModel
	if diags := l.ElementsAs(context.Background(), &out, false); diags.HasError() {
		return nil, false, fmt.Errorf("bastion blocks: %v", diags)
	}
	return out, true, nil
}

// jumps turns bastion blocks into sshclient hops; unset attributes come
// from base, the provider block's settings, never from an ssh block.
func jumps(base sshclient.Config, list []bastionModel) ([]sshclient.JumpConfig, error) {
	var out []sshclient.JumpConfig
	for i, b := range list {
		c, err := merge(base, b.connection())
		if err != nil {
			return nil, fmt.Errorf("bastion %d: %w", i+1, err)
		}
		out = append(out, sshclient.JumpConfig{
			Host: b.Host.ValueString(), Port: c.Port, User: c.User,
			PrivateKey: c.PrivateKey, PrivateKeyPassphrase: c.PrivateKeyPassphrase, Certificate: c.Certificate,
			Password: c.Password, Agent: c.Agent, AgentSocket: c.AgentSocket, AgentIdentity: c.AgentIdentity,
			KnownHostsFile: c.KnownHostsFile, HostKey: c.HostKey, InsecureIgnoreHostKey: c.InsecureIgnoreHostKey,
		})
	}
	return out, nil
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
		Certificate:          m.Certificate.ValueString(),
		AgentIdentity:        m.AgentIdentity.ValueString(),
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
	// An agent identity asks for the agent.
	if m.Agent.IsNull() {
		cfg.Agent = (cfg.PrivateKey == "" && cfg.Password == "" && os.Getenv(envAgentSocket) != "") || cfg.AgentIdentity != ""
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
	list, ok, err := bastions(m.Bastion)
	if err != nil || !ok {
		return cfg, err
	}
	cfg.Jumps, err = jumps(cfg, list)
	return cfg, err
}

// override applies the attributes an `ssh` block sets on top of base. Its
// bastion blocks, if any, replace base's and inherit from base.
func override(base sshclient.Config, m *connectionModel) (sshclient.Config, error) {
	cfg, err := merge(base, m)
	if m != nil && err == nil {
		var list []bastionModel
		var ok bool
		if list, ok, err = bastions(m.Bastion); ok {
			cfg.Jumps, err = jumps(base, list)
		}
	}
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
	if !m.PrivateKey.IsNull() && !m.PrivateKey.IsUnknown() {
		// A certificate belongs to its key: another key drops an inherited one.
		cfg.PrivateKey, cfg.Certificate = m.PrivateKey.ValueString(), ""
	}
	setString(&cfg.Certificate, m.Certificate)
	setString(&cfg.PrivateKeyPassphrase, m.PrivateKeyPassphrase)
	setString(&cfg.Password, m.Password)
	setString(&cfg.AgentIdentity, m.AgentIdentity)
	if !m.AgentIdentity.IsNull() && !m.AgentIdentity.IsUnknown() && m.Agent.IsNull() {
		cfg.Agent = true
	}
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
		m.User, m.Port, m.PrivateKey, m.PrivateKeyPassphrase, m.Certificate, m.Password, m.Agent, m.AgentIdentity,
		m.KnownHostsFile, m.HostKey, m.InsecureIgnoreHostKey, m.Sudo, m.SudoPassword, m.Timeout, m.Bastion,
	} {
		if v.IsUnknown() {
			return false
		}
	}
	list, _, err := bastions(m.Bastion)
	if err != nil {
		return false
	}
	for _, b := range list {
		for _, v := range []interface{ IsUnknown() bool }{
			b.Host, b.User, b.Port, b.PrivateKey, b.PrivateKeyPassphrase, b.Certificate, b.Password, b.Agent,
			b.AgentIdentity, b.KnownHostsFile, b.HostKey, b.InsecureIgnoreHostKey,
		} {
			if v.IsUnknown() {
				return false
			}
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
