package sshclient

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Every field of Config is walked by reflection, so a field added later
// cannot be forgotten by the connection-reuse key, secret masking or the
// bastion rules: the test fails until the new field is listed below.

// fieldChange sets up a valid Config in which one field matters (prep),
// then changes only that field (change).
type fieldChange struct{ prep, change func(*Config) }

// reuseChanges says, for each Config field that identifies a connection
// (who we are, whom we trust, the route), how to change it alone; such a
// change must give another pooled connection.
func reuseChanges(t *testing.T) map[string]fieldChange {
	signer, pemKey := clientKey(t)
	cert := certText(signCert(t, newEd25519Signer(t), signer.PublicKey(), certOpts{certType: ssh.UserCert, principals: []string{"root"}}))
	none := func(*Config) {}
	withKey := func(c *Config) { c.PrivateKey = pemKey }
	withAgent := func(c *Config) { c.Agent = true }
	withKnownHosts := func(c *Config) { c.InsecureIgnoreHostKey = false }
	return map[string]fieldChange{
		"Host":                  {none, func(c *Config) { c.Host = "other.example" }},
		"Port":                  {none, func(c *Config) { c.Port = 2222 }},
		"User":                  {none, func(c *Config) { c.User = "deploy" }},
		"PrivateKey":            {none, withKey},
		"PrivateKeyPassphrase":  {withKey, func(c *Config) { c.PrivateKeyPassphrase = "stray" }},
		"Certificate":           {withKey, func(c *Config) { c.Certificate = cert }},
		"Password":              {none, func(c *Config) { c.Password = "another-password" }},
		"Agent":                 {none, withAgent},
		"AgentSocket":           {withAgent, func(c *Config) { c.AgentSocket = "/tmp/other-agent.sock" }},
		"AgentIdentity":         {withAgent, func(c *Config) { c.AgentIdentity = "deploy@ci" }},
		"KnownHostsFile":        {withKnownHosts, func(c *Config) { c.KnownHostsFile = "/etc/ssh/ssh_known_hosts" }},
		"HostKey":               {withKnownHosts, func(c *Config) { c.HostKey = authorizedLine(signer.PublicKey()) }},
		"InsecureIgnoreHostKey": {none, withKnownHosts},
		"AcceptNewHostKey":      {withKnownHosts, func(c *Config) { c.AcceptNewHostKey = true }},
		"AcceptedHostKey": {func(c *Config) { withKnownHosts(c); c.AcceptNewHostKey = true },
			func(c *Config) { c.AcceptedHostKey = authorizedLine(signer.PublicKey()) }},
		"Jumps": {none, func(c *Config) {
			c.Jumps = []Config{{Host: "bastion.example", Password: "pw", InsecureIgnoreHostKey: true}}
		}},
	}
}

// sameConnection lists the Config fields that do not change the SSH
// connection itself, with the reason; a host differing only in these
// shares the pooled connection.
var sameConnection = map[string]string{
	"Timeout":        "bounds dialing and prompts; the connection is the same",
	"Sudo":           "a per-command choice on the same login",
	"SudoPassword":   "sent to sudo on a session, not to sshd",
	"MaxSessions":    "a limit applied to the shared connection (the strictest wins)",
	"CommandTimeout": "bounds each command run on the connection, not the connection",
	"WaitForSSH":     "how long to keep retrying the dial; the connection is the same",
	"SSHConfigFile":  "applied by the caller before Pool.Host: its effect is in the other fields",
}

func TestConfigFieldsAndTheReuseKey(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
	changes := reuseChanges(t)
	base := Config{Host: "h.example", Password: "pw", InsecureIgnoreHostKey: true}
	p := newTestPool(t)
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Config{})) {
		change, identifies := changes[f.Name]
		_, same := sameConnection[f.Name]
		switch {
		case identifies && same:
			t.Errorf("%s is listed both as identifying the connection and as not", f.Name)
		case !identifies && !same:
			t.Errorf("Config.%s is new: add it to reuseChanges (it must change the pooled connection) or to sameConnection (with the reason)", f.Name)
		case identifies:
			before := base
			change.prep(&before)
			after := before
			change.change(&after)
			if mustHost(t, p, before).r.connKey == mustHost(t, p, after).r.connKey {
				t.Errorf("changing %s keeps the same pooled connection: connKey ignores it", f.Name)
			}
		}
	}
}

func TestConfigSecretsAreMaskedAndRedacted(t *testing.T) {
	var cfg Config
	var secrets []string
	v := reflect.ValueOf(&cfg).Elem()
	for i, f := range reflect.VisibleFields(v.Type()) {
		if f.Tag.Get("secret") != "true" {
			continue
		}
		if f.Type.Kind() != reflect.String {
			t.Fatalf("secret field %s is not a string", f.Name)
		}
		s := "secret-value-" + f.Name + "-" + strings.Repeat("x", i)
		v.FieldByIndex(f.Index).SetString(s)
		secrets = append(secrets, s)
	}
	if len(secrets) < 4 {
		t.Fatalf("only %d secret fields tagged: %v", len(secrets), secrets)
	}
	cfg.Sudo = true
	hop := Config{Password: "hop-password", PrivateKey: "hop-key", PrivateKeyPassphrase: "hop-passphrase"}
	cfg.Jumps = []Config{hop}
	secrets = append(secrets, "hop-password", "hop-key", "hop-passphrase")
	got := cfg.Secrets()
	for _, s := range secrets {
		if !slices.Contains(got, s) {
			t.Errorf("Secrets() misses %q", s)
		}
		for _, out := range []string{cfg.String(), cfg.GoString()} {
			if strings.Contains(out, s) {
				t.Errorf("String() leaks %q: %s", s, out)
			}
		}
	}
}

func TestBastionRejectsTargetOnlySettings(t *testing.T) {
	p := newTestPool(t)
	for name, hop := range map[string]Config{
		"sudo":            {Sudo: true},
		"sudo password":   {Sudo: true, SudoPassword: "x"},
		"max sessions":    {MaxSessions: 2},
		"command timeout": {CommandTimeout: time.Minute},
		"nested jumps":    {Jumps: []Config{{Host: "j2", Password: "pw", InsecureIgnoreHostKey: true}}},
	} {
		hop.Host, hop.Password, hop.InsecureIgnoreHostKey = "bastion.example", "pw", true
		_, err := p.Host(Config{Host: "h", Password: "pw", InsecureIgnoreHostKey: true, Jumps: []Config{hop}})
		checkErr(t, err, ErrConfig)
		if err == nil || !strings.Contains(err.Error(), "only the target host") {
			t.Errorf("%s on a bastion: %v", name, err)
		}
	}
}

func TestBastionInheritsTheTargetTimeout(t *testing.T) {
	p := newTestPool(t)
	hop := Config{Host: "bastion.example", Password: "pw", InsecureIgnoreHostKey: true}
	own := hop
	own.Timeout = 3 * time.Second
	h := mustHost(t, p, Config{Host: "h", Password: "pw", InsecureIgnoreHostKey: true, Timeout: 7 * time.Second, Jumps: []Config{hop, own}})
	if got := h.r.jumps[0].Timeout; got != 7*time.Second {
		t.Errorf("bastion without a timeout: %s, want the target's 7s", got)
	}
	if got := h.r.jumps[1].Timeout; got != 3*time.Second {
		t.Errorf("bastion with its own timeout: %s, want 3s", got)
	}
}
