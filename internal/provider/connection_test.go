package provider

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/pem"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"golang.org/x/crypto/ssh"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// bastionObjectType is the element type of the `bastion` block list, as
// the schema defines it.
func bastionObjectType() types.ObjectType {
	return resourceSSHBlock().Blocks["bastion"].Type().(types.ListType).ElemType.(types.ObjectType)
}

// nullModel returns a model struct with every attribute null, as the
// framework decodes a block that sets nothing.
func nullModel[M any]() M {
	var m M
	v := reflect.ValueOf(&m).Elem()
	for _, f := range reflect.VisibleFields(v.Type()) {
		if f.Anonymous {
			continue
		}
		var null attr.Value
		switch f.Type {
		case reflect.TypeOf(types.String{}):
			null = types.StringNull()
		case reflect.TypeOf(types.Int64{}):
			null = types.Int64Null()
		case reflect.TypeOf(types.Bool{}):
			null = types.BoolNull()
		case reflect.TypeOf(types.List{}):
			null = types.ListNull(bastionObjectType())
		default:
			panic("nullModel: no null for " + f.Type.String())
		}
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(null))
	}
	return m
}

// modelFields lists a model's attributes: tfsdk name and field index.
func modelFields(m any) map[string][]int {
	out := map[string][]int{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(m)) {
		if !f.Anonymous {
			out[f.Tag.Get("tfsdk")] = f.Index
		}
	}
	return out
}

func setField(model any, index []int, v attr.Value) {
	reflect.ValueOf(model).Elem().FieldByIndex(index).Set(reflect.ValueOf(v))
}

// connectionSamples gives, for every connection attribute, a valid value
// that differs from connectionBase's. A new attribute fails
// TestConnectionFieldsAreHandled until it has one here.
func connectionSamples(t *testing.T) map[string]attr.Value {
	baseSigner, _ := keyForTest(t, "base")
	signer, otherKey := keyForTest(t, "other")
	ca, _ := keyForTest(t, "ca")
	cert := &ssh.Certificate{Key: baseSigner.PublicKey(), CertType: ssh.UserCert, ValidPrincipals: []string{"root"},
		ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return map[string]attr.Value{
		"user":                     types.StringValue("deploy"),
		"port":                     types.Int64Value(2222),
		"private_key":              types.StringValue(otherKey),
		"private_key_passphrase":   types.StringValue("stray-passphrase"),
		"certificate":              types.StringValue(string(ssh.MarshalAuthorizedKey(cert))),
		"password":                 types.StringValue("another-password"),
		"agent":                    types.BoolValue(true),
		"agent_identity":           types.StringValue("deploy@ci"),
		"known_hosts_file":         types.StringValue("/tmp/other_known_hosts"),
		"host_key":                 types.StringValue(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))),
		"insecure_ignore_host_key": types.BoolValue(true),
		"sudo":                     types.BoolValue(false),
		"sudo_password":            types.StringValue("sudo-secret"),
		"timeout":                  types.StringValue("7s"),
		"command_timeout":          types.StringValue("90s"),
		"wait_for_ssh":             types.StringValue("2m"),
		"accept_new_host_key":      types.BoolValue(true),
		"ssh_config_file":          types.StringValue("/tmp/vm.sshconfig"),
		"host":                     types.StringValue("jump2.example"),
	}
}

// sameConnectionAttrs do not change the SSH connection itself: hosts that
// differ only in these share one pooled connection.
var sameConnectionAttrs = []string{"sudo", "sudo_password", "timeout", "command_timeout", "wait_for_ssh", "ssh_config_file"}

// connectionBase is a provider block's configuration with sudo on (so
// that sudo_password matters) and known_hosts verification.
func connectionBase(t *testing.T) sshclient.Config {
	_, key := keyForTest(t, "base")
	return sshclient.Config{User: "root", PrivateKey: key, Password: "pw", Sudo: true, KnownHostsFile: "/tmp/known_hosts"}
}

// TestConnectionFieldsAreHandled walks every attribute of the `ssh` and
// `bastion` block models and checks that each one is mapped into
// sshclient.Config, masked in logs when sensitive, part of the
// connection-reuse key (unless listed in sameConnectionAttrs), and
// postpones a plan-time read when unknown.
func TestConnectionFieldsAreHandled(t *testing.T) {
	t.Setenv(envAgentSocket, "/tmp/agent.sock")
	samples := connectionSamples(t)
	base := connectionBase(t)
	pool := sshclient.NewPool()
	defer pool.Close()
	sensitive := sensitiveConnAttrs()

	// resolveWith returns the target's configuration for an ssh block
	// that sets one attribute (or, for a bastion attribute, whose one
	// bastion block sets it).
	type variant struct {
		name   string
		build  func(index []int, v attr.Value) *connectionModel
		fields map[string][]int
		hop    func(sshclient.Config) sshclient.Config
	}
	jumpBlock := func(b bastionModel) types.List {
		obj, diags := types.ObjectValueFrom(context.Background(), bastionObjectType().AttrTypes, b)
		if diags.HasError() {
			t.Fatal(diags)
		}
		return types.ListValueMust(bastionObjectType(), []attr.Value{obj})
	}
	variants := []variant{
		{name: "ssh", fields: modelFields(connectionModel{}),
			build: func(index []int, v attr.Value) *connectionModel {
				m := nullModel[connectionModel]()
				if index != nil {
					setField(&m, index, v)
				}
				return &m
			},
			hop: func(c sshclient.Config) sshclient.Config { return c }},
		{name: "bastion", fields: modelFields(bastionModel{}),
			build: func(index []int, v attr.Value) *connectionModel {
				b := nullModel[bastionModel]()
				b.Host = types.StringValue("jump.example")
				if index != nil {
					setField(&b, index, v)
				}
				m := nullModel[connectionModel]()
				m.Bastion = jumpBlock(b)
				return &m
			},
			hop: func(c sshclient.Config) sshclient.Config { return c.Jumps[0] }},
	}
	for _, vr := range variants {
		before, err := inherit(base, vr.build(nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		for name, index := range vr.fields {
			if name == "bastion" {
				continue // the bastion variant covers the block list
			}
			t.Run(vr.name+"."+name, func(t *testing.T) {
				sample, ok := samples[name]
				if !ok {
					t.Fatalf("new connection attribute %q: add a sample value to connectionSamples", name)
				}
				// Mapping: setting the attribute changes the host's (or the
				// bastion's) configuration.
				after, err := inherit(base, vr.build(index, sample))
				if err != nil {
					t.Fatal(err)
				}
				if reflect.DeepEqual(vr.hop(before), vr.hop(after)) {
					t.Fatalf("setting %s does not reach sshclient.Config: add it to applyTo", name)
				}
				if got, want := configField(t, vr.hop(after), name), plain(sample); got != want {
					t.Errorf("%s = %v maps to sshclient.Config.%s = %v", name, want, camel(name), got)
				}
				// Masking: a sensitive value never reaches a log line.
				if slices.Contains(sensitive, name) {
					secret := sample.(types.String).ValueString()
					if !slices.Contains(after.Secrets(), secret) {
						t.Errorf("%s is sensitive but sshclient.Config.Secrets() misses it: tag its field secret:\"true\"", name)
					}
					var logs bytes.Buffer
					ctx := maskSecrets(tflogtest.RootLogger(context.Background(), &logs), after)
					tflog.Info(ctx, "message "+secret, map[string]any{"detail": secret, name: "x"})
					if strings.Contains(logs.String(), secret) {
						t.Errorf("%s leaks into a log line: %s", name, logs.String())
					}
				}
				// Reuse: an attribute that changes who logs in, whom we trust
				// or the route gives another pooled connection.
				if !slices.Contains(sameConnectionAttrs, name) {
					before.Host, after.Host = "h.example", "h.example"
					hb, err1 := pool.Host(before)
					ha, err2 := pool.Host(after)
					if err1 != nil || err2 != nil {
						t.Fatalf("sample not valid for the pool: %v / %v", err1, err2)
					}
					if hb.ReuseKey() == ha.ReuseKey() {
						t.Errorf("%s does not change the connection-reuse key", name)
					}
				}
				// Unknown at plan time: the plan must not contact the host.
				if knownConnection(vr.build(index, unknownOf(sample))) {
					t.Errorf("an unknown %s counts as known at plan time", name)
				}
			})
		}
	}
}

// keyForTest returns an Ed25519 key, the same one for the same name within
// a test binary.
func keyForTest(t *testing.T, name string) (ssh.Signer, string) {
	seed := sha256.Sum256([]byte("connection_test " + name))
	priv := ed25519.NewKeyFromSeed(seed[:])
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

// camel is the sshclient.Config field of an attribute: private_key is
// PrivateKey.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part == "ssh" {
			part = "SSH" // a Go initialism: wait_for_ssh is WaitForSSH
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// configField is the value of the attribute's field in c.
func configField(t *testing.T, c sshclient.Config, name string) any {
	f := reflect.ValueOf(c).FieldByName(camel(name))
	if !f.IsValid() {
		t.Fatalf("sshclient.Config has no field %s for the attribute %s", camel(name), name)
	}
	if d, ok := f.Interface().(time.Duration); ok {
		return d.String()
	}
	return f.Interface()
}

// plain is an attribute value as the Config field holds it.
func plain(v attr.Value) any {
	switch x := v.(type) {
	case types.String:
		if d, err := time.ParseDuration(x.ValueString()); err == nil {
			return d.String()
		}
		return x.ValueString()
	case types.Int64:
		return int(x.ValueInt64())
	case types.Bool:
		return x.ValueBool()
	}
	return nil
}

func unknownOf(v attr.Value) attr.Value {
	switch v.(type) {
	case types.String:
		return types.StringUnknown()
	case types.Int64:
		return types.Int64Unknown()
	case types.Bool:
		return types.BoolUnknown()
	}
	panic("unknownOf: " + v.Type(context.Background()).String())
}
