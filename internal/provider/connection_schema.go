package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// connAttr describes one connection attribute once; the provider block, the
// resource's and the data source's `ssh` blocks are all built from this table
// so their names, descriptions and validation can never drift apart.
type connAttr struct {
	name        string
	kind        string // "string", "int", "bool"
	sensitive   bool
	description string
	strings     []validator.String
	ints        []validator.Int64
}

var connAttrs = []connAttr{
	{name: "user", kind: "string", description: "User to log in as. Default: `root` (or `$" + envUser + "`). A non-root user needs `sudo = true` to change anything.",
		strings: []validator.String{stringvalidator.LengthAtLeast(1), userNameValidator}},
	{name: "port", kind: "int", description: "SSH port. Default: `22`.",
		ints: []validator.Int64{int64validator.Between(1, 65535)}},
	{name: "private_key", kind: "string", sensitive: true, description: "Private key in PEM/OpenSSH format (the key's text, e.g. `file(\"~/.ssh/id_ed25519\")`, not a path). Default: `$" + envPrivateKey + "`."},
	{name: "private_key_passphrase", kind: "string", sensitive: true, description: "Passphrase of an encrypted `private_key`."},
	{name: "password", kind: "string", sensitive: true, description: "Password for `password` or `keyboard-interactive` authentication. Default: `$" + envPassword + "`."},
	{name: "agent", kind: "bool", description: "Authenticate with the SSH agent at `$SSH_AUTH_SOCK`. Default: `true` when `SSH_AUTH_SOCK` is set and neither `private_key` nor `password` is given, else `false`."},
	{name: "known_hosts_file", kind: "string", description: "OpenSSH known_hosts file used to verify host keys (hashed names, `[host]:port` and `@cert-authority` lines are understood; the file is never written). Default: `~/.ssh/known_hosts` (or `$" + envKnownHosts + "`).",
		strings: []validator.String{stringvalidator.LengthAtLeast(1)}},
	{name: "host_key", kind: "string", description: "Pinned host public key in authorized_keys format (`ssh-ed25519 AAAA...`), e.g. from `ssh-keyscan`. When set, it replaces known_hosts verification.",
		strings: []validator.String{hostKeyValidator}},
	{name: "insecure_ignore_host_key", kind: "bool", description: "Accept any host key. Default: `false`. Only for throwaway hosts: it allows a man-in-the-middle to capture credentials, and every plan warns while it is set."},
	{name: "sudo", kind: "bool", description: "Run the steps that need root (writing the drop-in and the live value) through `sudo`; non-interactive (`sudo -n`) unless `sudo_password` is set. Reads never use sudo. Default: `false`."},
	{name: "sudo_password", kind: "string", sensitive: true, description: "Password sudo asks for, sent only on sudo's standard input when it prompts. Default: `$" + envSudoPassword + "`."},
	{name: "timeout", kind: "string", description: "Bound on connecting and on the SSH handshake, as a Go duration (`30s`, `2m`). Default: `30s`.",
		strings: []validator.String{durationValidator}},
}

func providerConnectionAttributes() map[string]pschema.Attribute {
	out := map[string]pschema.Attribute{}
	for _, a := range connAttrs {
		d := a.description
		switch a.kind {
		case "string":
			out[a.name] = pschema.StringAttribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d, Validators: a.strings}
		case "int":
			out[a.name] = pschema.Int64Attribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d, Validators: a.ints}
		case "bool":
			out[a.name] = pschema.BoolAttribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d}
		}
	}
	return out
}

const sshBlockDescription = "Connection settings for this host. Each attribute set here overrides the provider block's; unset ones inherit it."

func resourceSSHBlock() rschema.SingleNestedBlock {
	attrs := map[string]rschema.Attribute{}
	for _, a := range connAttrs {
		d := a.description
		switch a.kind {
		case "string":
			attrs[a.name] = rschema.StringAttribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d, Validators: a.strings}
		case "int":
			attrs[a.name] = rschema.Int64Attribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d, Validators: a.ints}
		case "bool":
			attrs[a.name] = rschema.BoolAttribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d}
		}
	}
	return rschema.SingleNestedBlock{MarkdownDescription: sshBlockDescription, Attributes: attrs}
}

func dataSourceSSHBlock() dsschema.SingleNestedBlock {
	attrs := map[string]dsschema.Attribute{}
	for _, a := range connAttrs {
		d := a.description
		switch a.kind {
		case "string":
			attrs[a.name] = dsschema.StringAttribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d, Validators: a.strings}
		case "int":
			attrs[a.name] = dsschema.Int64Attribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d, Validators: a.ints}
		case "bool":
			attrs[a.name] = dsschema.BoolAttribute{Optional: true, Sensitive: a.sensitive, MarkdownDescription: d}
		}
	}
	return dsschema.SingleNestedBlock{MarkdownDescription: sshBlockDescription, Attributes: attrs}
}
