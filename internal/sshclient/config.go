package sshclient

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Defaults applied by Pool.Host to zero-valued fields.
const (
	DefaultPort           = 22
	DefaultUser           = "root"
	DefaultTimeout        = 30 * time.Second
	DefaultMaxSessions    = 8 // below OpenSSH's default MaxSessions of 10
	DefaultKnownHostsFile = "~/.ssh/known_hosts"
)

// Config describes how to reach and authenticate to one host.
type Config struct {
	Host string
	Port int    // default 22
	User string // default root

	PrivateKey           string // PEM text (OpenSSH, PKCS#1, PKCS#8, SEC1), may be encrypted
	PrivateKeyPassphrase string
	Password             string // used for "password" and "keyboard-interactive"
	Agent                bool
	AgentSocket          string // empty => $SSH_AUTH_SOCK; "~/" expanded

	// Host key policy, checked in this order: HostKey (pin), then
	// InsecureIgnoreHostKey, then KnownHostsFile (default ~/.ssh/known_hosts).
	KnownHostsFile        string // "~/" expanded; never written to
	HostKey               string // authorized_keys format: "ssh-ed25519 AAAA... [comment]"
	InsecureIgnoreHostKey bool

	Timeout time.Duration // bounds TCP connect + SSH handshake, and the sudo prompt; default 30s

	Sudo         bool   // run privileged scripts through sudo
	SudoPassword string // empty => sudo -n (non-interactive)

	MaxSessions int // concurrent sessions per connection; default 8
}

// resolved is a validated, defaulted Config plus everything parsed from it,
// so that Run never has to re-validate and Host() fails early.
type resolved struct {
	Config
	addr        string        // host:port, IPv6 bracketed
	signers     []ssh.Signer  // from PrivateKey
	agentSocket string        // "" => agent not used
	pinned      ssh.PublicKey // from HostKey
	knownHosts  string        // expanded path; "" when pinned or insecure
	connKey     string        // pool key; a salted digest, never the secrets
}

func configErr(addr, format string, args ...any) error {
	return &Error{Host: addr, Op: "config", Err: fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)}
}

// resolve validates cfg. salt makes connKey useless as a password oracle
// outside this process.
func resolve(cfg Config, salt []byte, parseKey func(pemText, passphrase string) (ssh.Signer, error)) (*resolved, error) {
	r := &resolved{Config: cfg}

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
		key, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(r.HostKey))
		if err != nil {
			return nil, configErr(r.addr, "host key is not in authorized_keys format (\"ssh-ed25519 AAAA...\"): %v", err)
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, configErr(r.addr, "host key must contain exactly one key")
		}
		r.pinned = key
	case r.InsecureIgnoreHostKey:
	default:
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

	r.connKey = connKey(salt, r)
	return r, nil
}

// connKey identifies a connection: same key => same ssh.Client. Everything
// that changes who we are or whom we trust is in it; sudo settings and
// timeouts are not, because they do not change the connection.
func connKey(salt []byte, r *resolved) string {
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
	switch {
	case r.pinned != nil:
		field("pin")
		field(string(r.pinned.Marshal()))
	case r.InsecureIgnoreHostKey:
		field("insecure")
	default:
		field("known_hosts")
		field(r.knownHosts)
	}
	return r.addr + "/" + r.User + "/" + hex.EncodeToString(h.Sum(nil))
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

// String redacts secrets so a Config can be logged or printed with %v.
func (c Config) String() string {
	return fmt.Sprintf("sshclient.Config{Host:%q Port:%d User:%q PrivateKey:%s PrivateKeyPassphrase:%s Password:%s Agent:%t AgentSocket:%q KnownHostsFile:%q HostKey:%q InsecureIgnoreHostKey:%t Timeout:%s Sudo:%t SudoPassword:%s MaxSessions:%d}",
		c.Host, c.Port, c.User, redacted(c.PrivateKey), redacted(c.PrivateKeyPassphrase), redacted(c.Password),
		c.Agent, c.AgentSocket, c.KnownHostsFile, c.HostKey, c.InsecureIgnoreHostKey, c.Timeout, c.Sudo, redacted(c.SudoPassword), c.MaxSessions)
}

// GoString keeps %#v from bypassing String.
func (c Config) GoString() string { return c.String() }

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}
