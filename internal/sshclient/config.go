package sshclient

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Defaults applied by Pool.Host to zero-valued fields.
const (
	DefaultPort        = 22
	DefaultUser        = "root"
	DefaultTimeout     = 30 * time.Second
	DefaultMaxSessions = 8 // below OpenSSH's default MaxSessions of 10
	// DefaultCommandTimeout bounds each remote command: generous for a
	// slow disk's sync, short enough that a hung host does not hold a run
	// for long.
	DefaultCommandTimeout = 5 * time.Minute
	DefaultKnownHostsFile = "~/.ssh/known_hosts"

	// MaxJumps bounds the bastion chain: each hop costs a handshake, and a
	// longer chain is almost certainly a configuration mistake.
	MaxJumps = 5

	// CertAuthorityMarker prefixes Config.HostKey to pin a certificate
	// authority instead of one host key, as in known_hosts.
	CertAuthorityMarker = "@cert-authority"
)

// Config is one SSH endpoint: how to reach, authenticate to and trust one
// server. It is the one type for every hop: the target host, and each
// bastion in the target's Jumps. Adding a connection setting means adding
// its field here and using it; the provider maps its schema into this type
// in one place.
//
// A field tagged secret:"true" never appears in String() and is returned by
// Secrets(), which the provider masks in its logs. Fields tagged
// target:"true" belong to the target only: a bastion that sets one is a
// configuration error.
type Config struct {
	Host string
	Port int    // default 22
	User string // default root

	PrivateKey           string `secret:"true"` // PEM text (OpenSSH, PKCS#1, PKCS#8, SEC1), may be encrypted
	PrivateKeyPassphrase string `secret:"true"`
	// Certificate is an OpenSSH user certificate ("ssh-ed25519-cert-v01@openssh.com
	// AAAA..."). It certifies PrivateKey, or, without one, the agent key it
	// was issued for. Offered before the plain key.
	Certificate string
	Password    string `secret:"true"` // used for "password" and "keyboard-interactive"
	Agent       bool
	AgentSocket string // empty => $SSH_AUTH_SOCK; "~/" expanded
	// AgentIdentity restricts the agent to the keys it names: a public key
	// in authorized_keys format, a "SHA256:..." fingerprint, or the key's
	// comment as `ssh-add -l` shows it. Empty => every agent key.
	AgentIdentity string

	// Host key policy, checked in this order: HostKey (pin), then
	// InsecureIgnoreHostKey, then KnownHostsFile (default ~/.ssh/known_hosts).
	KnownHostsFile string // "~/" expanded; never written to
	// HostKey pins the host's key in authorized_keys format ("ssh-ed25519
	// AAAA... [comment]"), or, prefixed with "@cert-authority ", a CA whose
	// host certificates are accepted when they name Host and are valid now.
	HostKey               string
	InsecureIgnoreHostKey bool

	// Timeout bounds TCP connect + SSH handshake of this hop, and the sudo
	// prompt; default 30s, and for a bastion the target's.
	Timeout time.Duration

	// Jumps are bastion hosts, first hop first: the first is dialed over
	// TCP, each later hop and finally Host through the one before it.
	Jumps []Config `target:"true"`

	Sudo         bool   `target:"true"`               // run privileged scripts through sudo
	SudoPassword string `target:"true" secret:"true"` // empty => sudo -n (non-interactive)

	MaxSessions int `target:"true"` // concurrent sessions per connection; default 8

	// CommandTimeout bounds each command, from opening its session to its
	// exit; default 5m. On expiry the command is stopped (see Host.Run).
	CommandTimeout time.Duration `target:"true"`

	// WaitForSSH keeps retrying a connection that fails the way a booting
	// host's does (refused, no route, timeout, reset, closed before the
	// host key) with backoff (1s doubling to 10s), until this much time
	// has passed since the first attempt; 0 fails at once. Failures of
	// the bastions on the way are retried under the target's WaitForSSH.
	// Authentication and host key failures are never retried.
	WaitForSSH time.Duration `target:"true"`

	// AcceptNewHostKey is trust on first use, for the target only: when
	// HostKey is not set, InsecureIgnoreHostKey is off and known_hosts has
	// no entry for the host (or does not exist), accept the key the host
	// presents if it is AcceptedHostKey, or, when AcceptedHostKey is empty
	// (first contact), whatever key it presents. A known_hosts entry still
	// wins, and known_hosts is never written. Host.HostKeySeen reports the
	// key accepted, for the caller to record and pass back as
	// AcceptedHostKey on every later connection.
	AcceptNewHostKey bool `target:"true"`
	// AcceptedHostKey is the key accepted on first contact, in
	// authorized_keys format; only with AcceptNewHostKey.
	AcceptedHostKey string `target:"true"`

	// SSHConfigFile is an OpenSSH client config file for the target. This
	// package does not read it: the caller applies it before Pool.Host
	// (package sshconfig), so its effect is in the other fields.
	SSHConfigFile string `target:"true"`
}

// Secrets returns every non-empty secret of c and of its bastions (the
// fields tagged secret:"true"), for log masking.
func (c Config) Secrets() []string {
	var out []string
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Tag.Get("secret") == "true" && v.Field(i).String() != "" {
			out = append(out, v.Field(i).String())
		}
	}
	for _, j := range c.Jumps {
		out = append(out, j.Secrets()...)
	}
	return out
}

// targetOnly names the target-only fields (tagged target:"true") that a
// bastion sets, if any.
func (c Config) targetOnly() []string {
	var out []string
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Tag.Get("target") == "true" && !v.Field(i).IsZero() {
			out = append(out, v.Type().Field(i).Name)
		}
	}
	return out
}

// resolved is a validated, defaulted Config plus everything parsed from it,
// so that Run never has to re-validate and Host() fails early.
type resolved struct {
	Config
	addr        string           // host:port, IPv6 bracketed
	signers     []ssh.Signer     // from PrivateKey (certificate signer first)
	cert        *ssh.Certificate // from Certificate
	agentSocket string           // "" => agent not used
	agentID     *identity        // from AgentIdentity; nil => every agent key
	pinned      ssh.PublicKey    // from HostKey
	pinnedCA    ssh.PublicKey    // from HostKey with the @cert-authority marker
	tofuPin     ssh.PublicKey    // from AcceptedHostKey
	knownHosts  string           // expanded path; "" when pinned or insecure
	jumps       []*resolved      // bastions, first hop first; each holds the hops before it
	connKey     string           // pool key; a salted digest, never the secrets
	now         func() time.Time // clock for certificate validity (tests)
}

// via returns the last bastion before this host, or nil.
func (r *resolved) via() *resolved {
	if len(r.jumps) == 0 {
		return nil
	}
	return r.jumps[len(r.jumps)-1]
}

// route lists the bastions' addresses, first hop first.
func (r *resolved) route() []string {
	out := make([]string, len(r.jumps))
	for i, j := range r.jumps {
		out[i] = j.addr
	}
	return out
}

func configErr(addr, format string, args ...any) error {
	return &Error{Host: addr, Op: "config", Err: fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)}
}

// keyParser parses a private key (the pool caches the result).
type keyParser func(pemText, passphrase string) (ssh.Signer, error)

// resolve validates cfg and its bastions. salt makes connKey useless as a
// password oracle outside this process.
func resolve(cfg Config, salt []byte, parseKey keyParser) (*resolved, error) {
	r, err := resolveOne(cfg, parseKey)
	if err != nil {
		return nil, err
	}
	if len(cfg.Jumps) > MaxJumps {
		return nil, configErr(r.addr, "%d bastions given; at most %d are supported", len(cfg.Jumps), MaxJumps)
	}
	prev := ""
	for i, j := range cfg.Jumps {
		if bad := j.targetOnly(); len(bad) > 0 {
			return nil, configErr(r.addr, "bastion %d sets %s, which only the target host can have", i+1, strings.Join(bad, ", "))
		}
		if j.Timeout == 0 {
			j.Timeout = r.Timeout
		}
		jr, err := resolveOne(j, parseKey)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				// Name the hop: the target is what the user asked for.
				bastion := e.Host
				if bastion == "" {
					bastion = fmt.Sprintf("#%d", i+1)
				}
				return nil, &Error{Host: r.addr, Op: e.Op, Bastion: bastion, Err: e.Err}
			}
			return nil, err
		}
		jr.jumps = append([]*resolved(nil), r.jumps...)
		jr.connKey = connKey(salt, jr, prev)
		prev = jr.connKey
		r.jumps = append(r.jumps, jr)
	}
	r.connKey = connKey(salt, r, prev)
	return r, nil
}

// resolveOne validates one host's settings, without its bastions.
func resolveOne(cfg Config, parseKey keyParser) (*resolved, error) {
	r := &resolved{Config: cfg, now: time.Now}
	r.Jumps = nil

	host := strings.TrimSpace(cfg.Host)
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if host == "" {
		return nil, configErr("", "host is empty")
	}
	if strings.ContainsAny(host, " \t\r\n/") || strings.HasPrefix(host, "-") {
		return nil, configErr("", "host %q is not a valid host name or address", host)
	}
	if strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(host); err != nil {
			return nil, configErr("", "host %q must not include a port (set the port separately)", host)
		}
	}
	r.Host = host
	if r.Port == 0 {
		r.Port = DefaultPort
	}
	if r.Port < 1 || r.Port > 65535 {
		return nil, configErr("", "port %d is out of range", r.Port)
	}
	r.addr = net.JoinHostPort(host, strconv.Itoa(r.Port))
	if r.User == "" {
		r.User = DefaultUser
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Timeout < 0 {
		return nil, configErr(r.addr, "timeout %s is negative", r.Timeout)
	}
	if r.CommandTimeout == 0 {
		r.CommandTimeout = DefaultCommandTimeout
	}
	if r.CommandTimeout < 0 {
		return nil, configErr(r.addr, "command timeout %s is negative", r.CommandTimeout)
	}
	if r.WaitForSSH < 0 {
		return nil, configErr(r.addr, "wait for SSH %s is negative", r.WaitForSSH)
	}
	if r.MaxSessions == 0 {
		r.MaxSessions = DefaultMaxSessions
	}
	if r.MaxSessions < 0 {
		return nil, configErr(r.addr, "max sessions %d is negative", r.MaxSessions)
	}
	if r.SudoPassword != "" && !r.Sudo {
		return nil, configErr(r.addr, "a sudo password is set but sudo is disabled")
	}

	// Authentication.
	if r.PrivateKey != "" {
		signer, err := parseKey(r.PrivateKey, r.PrivateKeyPassphrase)
		if err != nil {
			return nil, configErr(r.addr, "%v", err)
		}
		r.signers = []ssh.Signer{signer}
	}
	if r.Certificate != "" {
		cert, err := parseUserCertificate(r.Certificate, r.now())
		if err != nil {
			return nil, configErr(r.addr, "certificate: %v", err)
		}
		r.cert = cert
		switch {
		case len(r.signers) > 0:
			certSigner, err := ssh.NewCertSigner(cert, r.signers[0])
			if err != nil {
				return nil, configErr(r.addr, "certificate is for key %s, but the private key is %s",
					ssh.FingerprintSHA256(cert.Key), ssh.FingerprintSHA256(r.signers[0].PublicKey()))
			}
			// Like OpenSSH: the certificate first, then the plain key.
			r.signers = []ssh.Signer{certSigner, r.signers[0]}
		case !r.Agent:
			return nil, configErr(r.addr, "a certificate is set but neither a private key nor the agent is: the certificate needs the private key it certifies")
		}
	}
	if r.AgentIdentity != "" {
		if !r.Agent {
			return nil, configErr(r.addr, "an agent identity is set but agent authentication is off")
		}
		id, err := parseIdentity(r.AgentIdentity)
		if err != nil {
			return nil, configErr(r.addr, "agent identity: %v", err)
		}
		r.agentID = id
	}
	if r.Agent {
		sock := r.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		sock, err := expandHome(sock)
		if err != nil {
			return nil, configErr(r.addr, "agent socket: %v", err)
		}
		if sock == "" && r.PrivateKey == "" && r.Password == "" {
			return nil, configErr(r.addr, "agent authentication requested but no agent socket is set and SSH_AUTH_SOCK is empty")
		}
		r.agentSocket = sock // "" with other methods: silently skip the agent
	}
	if len(r.signers) == 0 && r.agentSocket == "" && r.Password == "" {
		return nil, configErr(r.addr, "no authentication method: set a private key, a password or agent")
	}

	// Host key policy; fail closed.
	switch {
	case r.HostKey != "" && r.InsecureIgnoreHostKey:
		return nil, configErr(r.addr, "a pinned host key and insecure host key checking are mutually exclusive")
	case r.HostKey != "":
		key, ca, err := ParseHostKeyPin(r.HostKey)
		if err != nil {
			return nil, configErr(r.addr, "host key %v", err)
		}
		if ca {
			r.pinnedCA = key
		} else {
			r.pinned = key
		}
	case r.InsecureIgnoreHostKey:
	default:
		if r.AcceptedHostKey != "" {
			if !r.AcceptNewHostKey {
				return nil, configErr(r.addr, "an accepted host key is given but accepting new host keys is off")
			}
			key, ca, err := ParseHostKeyPin(r.AcceptedHostKey)
			if err == nil && ca {
				err = errors.New("is a certificate authority, not a host key")
			}
			if err != nil {
				return nil, configErr(r.addr, "accepted host key %v", err)
			}
			r.tofuPin = key
		}
		path := r.KnownHostsFile
		if path == "" {
			path = DefaultKnownHostsFile
		}
		path, err := expandHome(path)
		if err != nil {
			return nil, configErr(r.addr, "known_hosts file: %v", err)
		}
		r.knownHosts = path
	}

	return r, nil
}

// connKey identifies a connection: same key => same ssh.Client. Everything
// that changes who we are or whom we trust is in it, and so is the route
// (via: the previous hop's key, "" for a direct connection); sudo settings
// and timeouts are not, because they do not change the connection.
func connKey(salt []byte, r *resolved, via string) string {
	h := sha256.New()
	h.Write(salt)
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(r.addr)
	field(r.User)
	field(r.PrivateKey)
	field(r.PrivateKeyPassphrase)
	field(r.Password)
	field(r.agentSocket)
	field(r.Certificate)
	field(r.AgentIdentity)
	field(via)
	switch {
	case r.pinned != nil:
		field("pin")
		field(string(r.pinned.Marshal()))
	case r.pinnedCA != nil:
		field("pin-ca")
		field(string(r.pinnedCA.Marshal()))
	case r.InsecureIgnoreHostKey:
		field("insecure")
	default:
		field("known_hosts")
		field(r.knownHosts)
		if r.AcceptNewHostKey {
			field("accept-new")
			if r.tofuPin != nil {
				field(string(r.tofuPin.Marshal()))
			}
		}
	}
	return r.addr + "/" + r.User + "/" + hex.EncodeToString(h.Sum(nil))
}

// ParseHostKeyPin parses a pinned host key: a public key in authorized_keys
// format, optionally prefixed with "@cert-authority" to pin a CA. ca
// reports the prefix. Errors never quote the input.
func ParseHostKeyPin(s string) (key ssh.PublicKey, ca bool, err error) {
	text := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(text, CertAuthorityMarker); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		text, ca = strings.TrimSpace(rest), true
	}
	key, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(text))
	if err == nil && len(options) > 0 {
		err = errors.New("unexpected text before the key type (a known_hosts host pattern or authorized_keys options do not belong here)")
	}
	if err != nil {
		return nil, false, fmt.Errorf("is not in authorized_keys format (\"ssh-ed25519 AAAA...\", or \"%s ssh-ed25519 AAAA...\" for a CA): %v", CertAuthorityMarker, err)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, false, errors.New("must contain exactly one key")
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return nil, false, errors.New("is a certificate; pin the host's plain key, or its CA with the " + CertAuthorityMarker + " prefix")
	}
	return key, ca, nil
}

// ParseUserCertificate parses an OpenSSH user certificate
// ("ssh-ed25519-cert-v01@openssh.com AAAA... [comment]", the content of
// id_ed25519-cert.pub) and checks that it is one, and is valid at now.
func ParseUserCertificate(text string, now time.Time) (*ssh.Certificate, error) {
	return parseUserCertificate(text, now)
}

func parseUserCertificate(text string, now time.Time) (*ssh.Certificate, error) {
	key, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(text)))
	if err != nil {
		return nil, fmt.Errorf("is not an OpenSSH certificate (\"ssh-ed25519-cert-v01@openssh.com AAAA...\"): %v", err)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("must contain exactly one certificate")
	}
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("is a plain %s public key, not a certificate (the file ending in -cert.pub)", key.Type())
	}
	if cert.CertType != ssh.UserCert {
		return nil, errors.New("is a host certificate, not a user certificate")
	}
	if err := certValidAt(cert, now); err != nil {
		return nil, err
	}
	return cert, nil
}

// certValidAt checks a certificate's validity period like OpenSSH does.
func certValidAt(cert *ssh.Certificate, now time.Time) error {
	unix := now.Unix()
	if after := int64(cert.ValidAfter); after < 0 || unix < after {
		return fmt.Errorf("is not valid before %s", certTime(cert.ValidAfter))
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && (int64(cert.ValidBefore) < 0 || unix >= int64(cert.ValidBefore)) {
		return fmt.Errorf("expired at %s", certTime(cert.ValidBefore))
	}
	return nil
}

func certTime(t uint64) string {
	if t == ssh.CertTimeInfinity || int64(t) < 0 {
		return "forever"
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}

// identity selects agent keys (see Config.AgentIdentity).
type identity struct {
	key         ssh.PublicKey // authorized_keys form
	fingerprint string        // "SHA256:..."
	comment     string
}

// ParseAgentIdentity checks an agent identity without contacting an agent.
func ParseAgentIdentity(s string) error {
	_, err := parseIdentity(s)
	return err
}

func parseIdentity(s string) (*identity, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, errors.New("is empty")
	case strings.ContainsAny(s, "\r\n"):
		return nil, errors.New("must be one line")
	case strings.HasPrefix(s, "SHA256:"):
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(s, "SHA256:"))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("%q is not a SHA256 fingerprint as `ssh-add -l` prints it (\"SHA256:\" and 43 base64 characters)", s)
		}
		return &identity{fingerprint: s}, nil
	}
	if key, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil && len(options) == 0 {
		if strings.TrimSpace(string(rest)) != "" {
			return nil, errors.New("must name exactly one key")
		}
		return &identity{key: key}, nil
	}
	if fields := strings.Fields(s); len(fields) >= 2 && isKeyType(fields[0]) {
		return nil, fmt.Errorf("starts with the key type %q but is not a valid public key", fields[0])
	}
	return &identity{comment: s}, nil
}

func isKeyType(t string) bool {
	return strings.HasPrefix(t, "ssh-") || strings.HasPrefix(t, "ecdsa-") || strings.HasPrefix(t, "sk-") || strings.HasPrefix(t, "rsa-")
}

// matches reports whether an agent key is selected. A certificate in the
// agent matches when the key it certifies does.
func (id *identity) matches(k *agent.Key) bool {
	pub, err := ssh.ParsePublicKey(k.Blob)
	if err != nil {
		return false
	}
	candidates := []ssh.PublicKey{pub}
	if cert, ok := pub.(*ssh.Certificate); ok {
		candidates = append(candidates, cert.Key)
	}
	for _, c := range candidates {
		switch {
		case id.key != nil && bytes.Equal(c.Marshal(), id.key.Marshal()):
			return true
		case id.fingerprint != "" && ssh.FingerprintSHA256(c) == id.fingerprint:
			return true
		}
	}
	return id.comment != "" && k.Comment == id.comment
}

func (id *identity) String() string {
	switch {
	case id.key != nil:
		return ssh.FingerprintSHA256(id.key)
	case id.fingerprint != "":
		return id.fingerprint
	}
	return fmt.Sprintf("comment %q", id.comment)
}

// parsePrivateKey accepts unencrypted and encrypted keys. The passphrase is
// only tried when the key says it is encrypted, so a stray passphrase on an
// unencrypted key is harmless. Errors never echo key material.
func parsePrivateKey(pemText, passphrase string) (ssh.Signer, error) {
	if !strings.Contains(pemText, "-----BEGIN ") {
		return nil, errors.New("private key is not PEM text (no \"-----BEGIN\" line)")
	}
	raw, err := ssh.ParseRawPrivateKey([]byte(pemText))
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, errors.New("private key is encrypted and no passphrase is set")
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase([]byte(pemText), []byte(passphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, errors.New("private key passphrase is incorrect")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse private key: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, fmt.Errorf("unsupported private key: %v", err)
	}
	return signer, nil
}

func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand %q: %v", path, err)
	}
	return filepath.Join(home, strings.TrimPrefix(path[1:], "/")), nil
}

// String prints every field, with secrets redacted, so a Config can be
// logged or printed with %v.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("sshclient.Config{")
	v, t := reflect.ValueOf(c), reflect.TypeOf(c)
	for i := 0; i < t.NumField(); i++ {
		f, x := t.Field(i), v.Field(i)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Name + ":")
		switch {
		case f.Tag.Get("secret") == "true":
			b.WriteString(redacted(x.String()))
		case x.Kind() == reflect.String:
			b.WriteString(strconv.Quote(x.String()))
		default:
			fmt.Fprint(&b, x.Interface()) // Jumps print through this String
		}
	}
	b.WriteString("}")
	return b.String()
}

// GoString keeps %#v from bypassing String.
func (c Config) GoString() string { return c.String() }

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// Bastion returns c's settings for use as a bastion: without the
// target-only fields, and without a timeout so that it takes the target's.
func (c Config) Bastion() Config {
	v := reflect.ValueOf(&c).Elem()
	for _, f := range reflect.VisibleFields(v.Type()) {
		if f.Tag.Get("target") == "true" {
			v.FieldByIndex(f.Index).SetZero()
		}
	}
	c.Timeout = 0
	return c
}
