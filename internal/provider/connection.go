package provider

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// Connection settings: the schema's side is connAttrs (connection_schema.go),
// the transport's is sshclient.Config, and this file maps one into the other
// in one place. Adding a connection attribute is: its line in connAttrs, its
// field in endpointModel or connectionModel and in sshclient.Config, and its
// line in applyTo. TestConnectionFieldsAreHandled walks these models by
// reflection and fails for a field that the mapping, the secret masking, the
// connection-reuse key or the plan-time unknown check does not handle.

// endpointModel is one hop's settings as the schema holds them. The
// provider block, every `ssh` block and every `bastion` block embed it.
type endpointModel struct {
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

// connectionModel is the provider block, and an `ssh` block that overrides
// it attribute by attribute: a hop's settings plus what only the target
// host has.
type connectionModel struct {
	endpointModel
	Sudo         types.Bool   `tfsdk:"sudo"`
	SudoPassword types.String `tfsdk:"sudo_password"`
	Timeout      types.String `tfsdk:"timeout"`
	// CommandTimeout bounds each remote command (target only).
	CommandTimeout types.String `tfsdk:"command_timeout"`
	// WaitForSSH is how long to retry a host that is not up yet (target only).
	WaitForSSH types.String `tfsdk:"wait_for_ssh"`
	// AcceptNewHostKey is trust on first use, pinned in state (target only).
	AcceptNewHostKey types.Bool `tfsdk:"accept_new_host_key"`
	// SSHConfigFile is an OpenSSH client config for the target (sshconfig.go).
	SSHConfigFile types.String `tfsdk:"ssh_config_file"`
	// Bastion is a list of bastionModel (a types.List, so that a `dynamic`
	// block with a not yet known for_each can be planned).
	Bastion types.List `tfsdk:"bastion"`
}

// bastionModel is one `bastion` block: a hop's settings and its host.
type bastionModel struct {
	Host types.String `tfsdk:"host"`
	endpointModel
}

// applyTo sets on c every attribute this block sets; null (and unknown)
// ones leave c's value, which is how a block inherits.
func (m endpointModel) applyTo(c *sshclient.Config) {
	setString(&c.User, m.User)
	setInt(&c.Port, m.Port)
	if isSet(m.PrivateKey) {
		// A certificate belongs to its key: another key drops an inherited one.
		c.PrivateKey, c.Certificate = m.PrivateKey.ValueString(), ""
	}
	setString(&c.Certificate, m.Certificate)
	setString(&c.PrivateKeyPassphrase, m.PrivateKeyPassphrase)
	setString(&c.Password, m.Password)
	setString(&c.AgentIdentity, m.AgentIdentity)
	if isSet(m.AgentIdentity) && m.Agent.IsNull() {
		c.Agent = true // an agent identity asks for the agent
	}
	setBool(&c.Agent, m.Agent)
	setString(&c.KnownHostsFile, m.KnownHostsFile)
	if isSet(m.HostKey) {
		// A pinned key is a policy of its own: it replaces, rather than
		// adds to, an insecure default inherited from the provider.
		c.HostKey = m.HostKey.ValueString()
		if m.InsecureIgnoreHostKey.IsNull() {
			c.InsecureIgnoreHostKey = false
		}
	}
	setBool(&c.InsecureIgnoreHostKey, m.InsecureIgnoreHostKey)
}

// applyTo sets on c every attribute the block sets, bastions aside (see
// inherit).
func (m connectionModel) applyTo(c *sshclient.Config) error {
	m.endpointModel.applyTo(c)
	setBool(&c.Sudo, m.Sudo)
	setString(&c.SudoPassword, m.SudoPassword)
	setBool(&c.AcceptNewHostKey, m.AcceptNewHostKey)
	setString(&c.SSHConfigFile, m.SSHConfigFile)
	if isSet(m.Timeout) {
		d, err := time.ParseDuration(m.Timeout.ValueString())
		if err != nil {
			return fmt.Errorf("timeout %q: %w", m.Timeout.ValueString(), err)
		}
		c.Timeout = d
	}
	if isSet(m.CommandTimeout) {
		d, err := time.ParseDuration(m.CommandTimeout.ValueString())
		if err != nil {
			return fmt.Errorf("command_timeout %q: %w", m.CommandTimeout.ValueString(), err)
		}
		c.CommandTimeout = d
	}
	if isSet(m.WaitForSSH) {
		d, err := time.ParseDuration(m.WaitForSSH.ValueString())
		if err != nil {
			return fmt.Errorf("wait_for_ssh %q: %w", m.WaitForSSH.ValueString(), err)
		}
		c.WaitForSSH = d
	}
	return nil
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

// connectionDefaults turns the provider block into the base configuration
// of every host: the environment, under the provider block's attributes.
func connectionDefaults(m connectionModel) (sshclient.Config, error) {
	cfg := sshclient.Config{
		User:           os.Getenv(envUser),
		PrivateKey:     os.Getenv(envPrivateKey),
		Password:       os.Getenv(envPassword),
		KnownHostsFile: os.Getenv(envKnownHosts),
		SudoPassword:   os.Getenv(envSudoPassword),
	}
	if err := m.applyTo(&cfg); err != nil {
		return cfg, err
	}
	// Like Terraform's own connection block: use a running agent when no
	// other credential is given, unless agent = false says otherwise.
	if m.Agent.IsNull() {
		cfg.Agent = (cfg.PrivateKey == "" && cfg.Password == "" && os.Getenv(envAgentSocket) != "") || cfg.AgentIdentity != ""
	}
	list, err := bastions(m.Bastion)
	cfg.Jumps = hops(cfg, list)
	return cfg, err
}

// inherit is the one rule of inheritance: a host's settings are the
// provider block's (base) under its `ssh` block's (nil when it has none).
// The ssh block's bastion blocks, if any, replace the provider block's;
// every bastion inherits the provider block, never an ssh block.
func inherit(base sshclient.Config, ssh *connectionModel) (sshclient.Config, error) {
	cfg := base
	if ssh != nil {
		if err := ssh.applyTo(&cfg); err != nil {
			return cfg, fmt.Errorf("ssh.%w", err)
		}
		list, err := bastions(ssh.Bastion)
		if err != nil {
			return cfg, err
		}
		if len(list) > 0 {
			cfg.Jumps = hops(base, list)
		}
	}
	if !cfg.Sudo {
		// A sudo password (e.g. from the environment) means nothing when
		// sudo is off, and must not be held or sent.
		cfg.SudoPassword = ""
	}
	return cfg, nil
}

// hops turns bastion blocks into the bastions' configurations, each the
// provider block's settings (base) under the block's own.
func hops(base sshclient.Config, list []bastionModel) []sshclient.Config {
	var out []sshclient.Config
	for _, b := range list {
		hop := base.Bastion()
		b.applyTo(&hop)
		hop.Host = b.Host.ValueString()
		out = append(out, hop)
	}
	return out
}

// bastions reads a list of bastion blocks (none for a null list, as in a
// model built in code, or an unknown one).
func bastions(l types.List) ([]bastionModel, error) {
	if l.IsNull() || l.IsUnknown() || len(l.Elements()) == 0 {
		return nil, nil
	}
	var out []bastionModel
	if diags := l.ElementsAs(context.Background(), &out, false); diags.HasError() {
		return nil, fmt.Errorf("bastion blocks: %v", diags)
	}
	return out, nil
}

// knownConnection reports whether every attribute of an `ssh` block and of
// its bastion blocks is known, so a plan can contact the host. It walks the
// models by reflection, so a new attribute cannot be forgotten here.
func knownConnection(m *connectionModel) bool {
	if m == nil {
		return true
	}
	if !allKnown(*m) {
		return false
	}
	list, err := bastions(m.Bastion)
	if err != nil {
		return false
	}
	for _, b := range list {
		if !allKnown(b) {
			return false
		}
	}
	return true
}

// allKnown reports whether no attribute value in a model struct (embedded
// structs included) is unknown.
func allKnown(model any) bool {
	v := reflect.ValueOf(model)
	for _, f := range reflect.VisibleFields(v.Type()) {
		if f.Anonymous {
			continue // its fields are visited as promoted fields
		}
		if a, ok := v.FieldByIndex(f.Index).Interface().(attr.Value); ok && a.IsUnknown() {
			return false
		}
	}
	return true
}

func isSet(v attr.Value) bool { return !v.IsNull() && !v.IsUnknown() }

func setString(dst *string, v types.String) {
	if isSet(v) {
		*dst = v.ValueString()
	}
}

func setBool(dst *bool, v types.Bool) {
	if isSet(v) {
		*dst = v.ValueBool()
	}
}

func setInt(dst *int, v types.Int64) {
	if isSet(v) {
		*dst = int(v.ValueInt64())
	}
}
