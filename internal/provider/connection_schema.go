package provider

import (
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// connAttr describes one connection attribute once; the provider block, the
// resource's and the data source's `ssh` blocks are all built from this table
// so their names, descriptions and validation can never drift apart.
type connAttr struct {
	name        string
	kind        string // "string", "int", "bool"
	sensitive   bool
	writeOnly   bool // write-only in the resource's blocks (see writeonly.go)
	description string
	strings     []validator.String
	ints        []validator.Int64
	// bastion is the description in `bastion` blocks; "" leaves the
	// attribute out of them (sudo and timeouts belong to the target).
	bastion string
}

var connAttrs = []connAttr{
	{name: "user", kind: "string", description: "User to log in as. Default: `root` (or `$" + envUser + "`). A non-root user needs `sudo = true` to change anything.",
		strings: []validator.String{stringvalidator.LengthAtLeast(1), userNameValidator},
		bastion: "User to log in to the bastion as. Default: the provider block's `user`, else `root`."},
	{name: "port", kind: "int", description: "SSH port. Default: `22`.",
		ints:    []validator.Int64{int64validator.Between(1, 65535)},
		bastion: "The bastion's SSH port. Default: the provider block's `port`, else `22`."},
	{name: "private_key", kind: "string", sensitive: true, writeOnly: true, strings: []validator.String{privateKeyPathValidator{}}, description: "Private key in PEM/OpenSSH format (the key's text, e.g. `file(\"~/.ssh/id_ed25519\")`, not a path). Default: `$" + envPrivateKey + "`.",
		bastion: "Private key for the bastion, in PEM/OpenSSH format (the key's text, not a path). Default: the provider block's `private_key`."},
	{name: "private_key_passphrase", kind: "string", sensitive: true, writeOnly: true, description: "Passphrase of an encrypted `private_key`.",
		bastion: "Passphrase of an encrypted `private_key`. Default: the provider block's."},
	{name: "certificate", kind: "string", description: "OpenSSH user certificate to log in with, as `ssh-keygen -s` writes it: the text of `id_ed25519-cert.pub` " +
		"(e.g. `file(\"~/.ssh/id_ed25519-cert.pub\")`, not a path), starting with `ssh-ed25519-cert-v01@openssh.com`, `ecdsa-sha2-nistp256-cert-v01@openssh.com` or `rsa-sha2-512-cert-v01@openssh.com`. " +
		"It must certify `private_key` (or, without one, a key the SSH agent holds), be a user certificate and be valid now; it is offered before the plain key. " +
		"The host must trust its CA (`TrustedUserCAKeys`). Default: none; a block that sets `private_key` without `certificate` does not inherit one.",
		strings: []validator.String{certificateValidator},
		bastion: "OpenSSH user certificate for this bastion's `private_key` (or agent key), as for the connection. Default: the provider block's, unless this block sets `private_key`."},
	{name: "password", kind: "string", sensitive: true, writeOnly: true, description: "Password for `password` or `keyboard-interactive` authentication (the latter is what hosts with `PasswordAuthentication no` and `KbdInteractiveAuthentication yes` offer; only prompts that ask for a password are answered). Default: `$" + envPassword + "`.",
		bastion: "Password for the bastion (`password` or `keyboard-interactive` authentication). Default: the provider block's `password`."},
	{name: "agent", kind: "bool", description: "Authenticate with the SSH agent at `$SSH_AUTH_SOCK`. Default: `true` when `SSH_AUTH_SOCK` is set and neither `private_key` nor `password` is given, or when `agent_identity` is set; else `false`.",
		bastion: "Authenticate to the bastion with the SSH agent at `$SSH_AUTH_SOCK`. Default: the provider block's `agent` (`true` when this block sets `agent_identity`)."},
	{name: "agent_identity", kind: "string", description: "Which SSH agent key to offer, instead of all of them: its public key (`ssh-ed25519 AAAA...`, e.g. `file(\"~/.ssh/id_ed25519.pub\")`), " +
		"its fingerprint as `ssh-add -l` prints it (`SHA256:...`), or its comment (e.g. `deploy@ci`). Only the matching key is offered, so a host with a low `MaxAuthTries` does not " +
		"refuse the login after the agent's other keys; an agent certificate for that key is offered too. Implies `agent = true` unless `agent` is set. Default: every key the agent holds, in its order.",
		strings: []validator.String{agentIdentityValidator},
		bastion: "Which SSH agent key to offer to the bastion: public key, `SHA256:` fingerprint or comment. Default: the provider block's."},
	{name: "known_hosts_file", kind: "string", description: "OpenSSH known_hosts file used to verify host keys (hashed names, `[host]:port` and `@cert-authority` lines are understood; the file is never written). Default: `~/.ssh/known_hosts` (or `$" + envKnownHosts + "`).",
		strings: []validator.String{stringvalidator.LengthAtLeast(1)},
		bastion: "known_hosts file to verify the bastion's host key (hashed names, `[host]:port` and `@cert-authority` lines are understood; never written). Default: the provider block's, else `~/.ssh/known_hosts`."},
	{name: "host_key", kind: "string", description: "Pinned host public key in authorized_keys format (`ssh-ed25519 AAAA...`), e.g. from `ssh-keyscan`; or a certificate authority, written " +
		"`@cert-authority ssh-ed25519 AAAA...` as in known_hosts, which accepts any host certificate that CA signed, that lists the host (as `host` is written) among its principals and that is valid now. " +
		"When set, it replaces known_hosts verification.",
		strings: []validator.String{hostKeyPinValidator},
		bastion: "Pinned host key of the bastion (`ssh-ed25519 AAAA...`), or `@cert-authority ssh-ed25519 AAAA...` to accept its host certificate. Replaces known_hosts verification for the bastion. Default: the provider block's."},
	{name: "insecure_ignore_host_key", kind: "bool", description: "Accept any host key. Default: `false`. Only for throwaway hosts: it allows a man-in-the-middle to capture credentials, and every plan warns while it is set.",
		bastion: "Accept any host key from the bastion. Default: the provider block's. Only for throwaway hosts; warned about on every plan."},
	{name: "accept_new_host_key", kind: "bool", description: "Trust on first use, like OpenSSH's `StrictHostKeyChecking=accept-new`, but pinned: when `host_key` is not set and known_hosts has no entry for the host, " +
		"a resource accepts the key the host presents on first contact and records it in `host_key_pinned`; every later connection for that resource requires exactly that key " +
		"(a different key is the host-key-changed error, naming both fingerprints). The key seen when planning a create is the one the apply requires. A known_hosts entry " +
		"still wins (a mismatch there is an error, never overridden), and known_hosts is never written. Data sources, which have no state to pin a key in, do not accept new keys " +
		"(a warning says so). Bastions are verified as usual. See the developer VMs guide. Default: `false`."},
	{name: "ssh_config_file", kind: "string", description: sshConfigFileDescription,
		strings: []validator.String{stringvalidator.LengthAtLeast(1)}},
	{name: "sudo", kind: "bool", description: "Run the steps that need root (writing the drop-in and the live value) through `sudo`; non-interactive (`sudo -n`) unless `sudo_password` is set. Reads never use sudo. Default: `false`."},
	{name: "sudo_password", kind: "string", sensitive: true, writeOnly: true, description: "Password sudo asks for, sent only on sudo's standard input when it prompts. Default: `$" + envSudoPassword + "`."},
	{name: "timeout", kind: "string", description: "Bound on connecting and on the SSH handshake, as a Go duration (`30s`, `2m`); through bastions it bounds each hop. Default: `30s`.",
		strings: []validator.String{durationValidator}},
	{name: "command_timeout", kind: "string", description: "Bound on each command run on the host (a read, an apply), from opening its SSH session to its exit, as a Go duration (`90s`, `10m`). " +
		"When it runs out the command is stopped (the host's processes of it are killed) and the operation fails, naming the host and the step. " +
		"The login user's shell startup files count towards it. Default: `5m`.",
		strings: []validator.String{durationValidator}},
	{name: "wait_for_ssh", kind: "string", description: "How long to keep trying to connect to a host that is not up yet (a VM that is still booting), as a Go duration (`5m`). " +
		"While the host (or a bastion on the way) refuses the connection, does not route, times out, resets it or closes it before presenting its host key, " +
		"the connection is retried with backoff (1 s, doubling to 10 s), each retry logged at INFO level with the host and the last error, until this much time has passed; " +
		"the error then names the host, how long it waited and the last failure. Authentication failures, host key mismatches, an unknown host key and sudo refusals are never retried. " +
		"Applies when planning and when applying, to resources and data sources. Default: `0s` (fail at once, so a fleet with a dead host fails fast).",
		strings: []validator.String{waitValidator}},
}

// sensitiveConnAttrs names the connection attributes marked sensitive.
func sensitiveConnAttrs() []string {
	var out []string
	for _, a := range connAttrs {
		if a.sensitive {
			out = append(out, a.name)
		}
	}
	return out
}

// Plan-time validators of the connection attributes added with bastions,
// certificates and agent identities (the others are in validators.go).
var (
	hostKeyPinValidator = stringCheck{"Invalid host_key",
		"a public key in authorized_keys format, or `@cert-authority` followed by the CA's public key", checkHostKeyPin}
	certificateValidator   = stringCheck{"Invalid certificate", "an OpenSSH user certificate that is valid now", checkCertificate}
	agentIdentityValidator = stringCheck{"Invalid agent_identity", "a public key, a SHA256 fingerprint or a key comment", checkAgentIdentity}
)

func checkHostKeyPin(s string) error {
	_, _, err := sshclient.ParseHostKeyPin(s)
	return err
}

func checkCertificate(s string) error {
	_, err := sshclient.ParseUserCertificate(s, time.Now())
	return err
}

func checkAgentIdentity(s string) error { return sshclient.ParseAgentIdentity(s) }

const bastionBlockDescription = "A bastion (jump host) to connect through, as OpenSSH's `ProxyJump` does. Repeat the block for a chain, first hop first " +
	"(at most 5): the first bastion is reached directly, each later one and finally the host through the one before. Every hop verifies its own host key " +
	"and authenticates with its own credentials; the bastion only forwards the TCP connection (it needs `AllowTcpForwarding`) and runs nothing. " +
	"One connection to a bastion is shared by every host behind it. Unset attributes inherit the provider block's connection settings " +
	"(not an `ssh` block's), except `host`; `timeout` applies to each hop. Bastion blocks in an `ssh` block replace the provider block's; " +
	"an `ssh` block without any uses the provider block's (hosts that must be reached directly need a provider configuration without bastions)."

const bastionHostDescription = "Host name or IP address of the bastion, as this machine (for the first bastion) or the previous bastion reaches it."

// attrSpec is one attribute in schema-neutral form; the provider,
// resource and data source schema packages each turn it into their own
// attribute type with the makers below.
type attrSpec struct {
	connAttr
	required bool
}

// connSpecs are the connection attributes as the provider block and the
// `ssh` blocks hold them.
func connSpecs() []attrSpec {
	out := make([]attrSpec, 0, len(connAttrs))
	for _, a := range connAttrs {
		out = append(out, attrSpec{connAttr: a})
	}
	return out
}

// bastionSpecs are the attributes of a `bastion` block: its host, then the
// connection attributes that apply to a hop, with their bastion wording.
func bastionSpecs() []attrSpec {
	out := []attrSpec{{connAttr: connAttr{name: "host", kind: "string", description: bastionHostDescription,
		strings: []validator.String{hostValidator}}, required: true}}
	for _, a := range connAttrs {
		if a.bastion != "" {
			a.description = a.bastion
			out = append(out, attrSpec{connAttr: a})
		}
	}
	return out
}

var bastionValidators = []validator.List{listvalidator.SizeAtMost(sshclient.MaxJumps)}

// attributes builds one schema package's attribute map from specs.
func attributes[A any](specs []attrSpec, str, i64, boolean func(attrSpec) A) map[string]A {
	out := make(map[string]A, len(specs))
	for _, a := range specs {
		switch a.kind {
		case "string":
			out[a.name] = str(a)
		case "int":
			out[a.name] = i64(a)
		case "bool":
			out[a.name] = boolean(a)
		}
	}
	return out
}

func providerAttrs(specs []attrSpec) map[string]pschema.Attribute {
	return attributes(specs,
		func(a attrSpec) pschema.Attribute {
			return pschema.StringAttribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description, Validators: a.strings}
		},
		func(a attrSpec) pschema.Attribute {
			return pschema.Int64Attribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description, Validators: a.ints}
		},
		func(a attrSpec) pschema.Attribute {
			return pschema.BoolAttribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description}
		})
}

func resourceAttrs(specs []attrSpec) map[string]rschema.Attribute {
	return attributes(specs,
		func(a attrSpec) rschema.Attribute {
			return rschema.StringAttribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, WriteOnly: a.writeOnly,
				MarkdownDescription: writeOnlyDescription(a), Validators: a.strings}
		},
		func(a attrSpec) rschema.Attribute {
			return rschema.Int64Attribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description, Validators: a.ints}
		},
		func(a attrSpec) rschema.Attribute {
			return rschema.BoolAttribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description}
		})
}

func dataSourceAttrs(specs []attrSpec) map[string]dsschema.Attribute {
	return attributes(specs,
		func(a attrSpec) dsschema.Attribute {
			return dsschema.StringAttribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description, Validators: a.strings}
		},
		func(a attrSpec) dsschema.Attribute {
			return dsschema.Int64Attribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description, Validators: a.ints}
		},
		func(a attrSpec) dsschema.Attribute {
			return dsschema.BoolAttribute{Required: a.required, Optional: !a.required, Sensitive: a.sensitive, MarkdownDescription: a.description}
		})
}

func providerConnectionAttributes() map[string]pschema.Attribute { return providerAttrs(connSpecs()) }

const sshBlockDescription = "Connection settings for this host. Each attribute set here overrides the provider block's; unset ones inherit it."

// providerConnectionBlocks holds the provider block's `bastion` blocks.
func providerConnectionBlocks() map[string]pschema.Block {
	return map[string]pschema.Block{"bastion": pschema.ListNestedBlock{
		MarkdownDescription: bastionBlockDescription,
		NestedObject:        pschema.NestedBlockObject{Attributes: providerAttrs(bastionSpecs())},
		Validators:          bastionValidators,
	}}
}

func resourceSSHBlock() rschema.SingleNestedBlock {
	return rschema.SingleNestedBlock{MarkdownDescription: sshBlockDescription, Attributes: resourceAttrs(connSpecs()),
		Blocks: map[string]rschema.Block{"bastion": rschema.ListNestedBlock{
			MarkdownDescription: bastionBlockDescription,
			NestedObject:        rschema.NestedBlockObject{Attributes: resourceAttrs(bastionSpecs())},
			Validators:          bastionValidators,
		}}}
}

func dataSourceSSHBlock() dsschema.SingleNestedBlock {
	return dsschema.SingleNestedBlock{MarkdownDescription: sshBlockDescription, Attributes: dataSourceAttrs(connSpecs()),
		Blocks: map[string]dsschema.Block{"bastion": dsschema.ListNestedBlock{
			MarkdownDescription: bastionBlockDescription,
			NestedObject:        dsschema.NestedBlockObject{Attributes: dataSourceAttrs(bastionSpecs())},
			Validators:          bastionValidators,
		}}}
}
