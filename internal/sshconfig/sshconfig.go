// Package sshconfig reads an OpenSSH client configuration file
// (ssh_config(5)) for one host, as OpenSSH would, and fills the settings
// it gives into an sshclient.Config. Settings already present in the
// Config (those written in Terraform) win over the file. Keywords that
// would change how the host is reached or trusted and that this package
// cannot honour (ProxyCommand, Match exec, ...) are errors, never silently
// ignored.
package sshconfig

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	kssh "github.com/kevinburke/ssh_config"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// Refused keywords: each changes how the host is reached, what runs
// locally, or how its key is verified, and is not supported.
var refused = []string{
	"ProxyCommand", "LocalCommand", "PermitLocalCommand", "RemoteCommand", "KnownHostsCommand",
	"HostKeyAlias", "CanonicalizeHostname", "ProxyUseFdpass",
}

// Apply reads cfg.SSHConfigFile for cfg.Host (the alias) and returns cfg
// with the file's settings filled in where cfg has none, and warnings to
// show. Without a file it returns cfg unchanged.
func Apply(cfg sshclient.Config) (sshclient.Config, []string, error) {
	if cfg.SSHConfigFile == "" {
		return cfg, nil, nil
	}
	path, err := expand(cfg.SSHConfigFile, "")
	if err != nil {
		return cfg, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return cfg, nil, fmt.Errorf("ssh_config_file: %w", err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to flush
	file, err := kssh.Decode(f)
	if err != nil {
		return cfg, nil, fmt.Errorf("ssh_config_file %s: %w", path, err)
	}
	r := reader{file: file, path: path}
	var warnings []string
	alias := cfg.Host

	if err := r.refuse(alias); err != nil {
		return cfg, nil, err
	}
	if err := r.endpoint(&cfg, alias); err != nil {
		return cfg, nil, err
	}
	if v := r.get(alias, "ConnectTimeout"); v != "" && cfg.Timeout == 0 {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return cfg, nil, r.bad(alias, "ConnectTimeout", v, "a number of seconds")
		}
		cfg.Timeout = time.Duration(n) * time.Second
	}
	if v := r.get(alias, "UserKnownHostsFile"); v != "" && cfg.KnownHostsFile == "" {
		// An empty known_hosts (none, /dev/null, as Vagrant writes) fails
		// closed unless StrictHostKeyChecking says otherwise.
		first := unquote(strings.Fields(v)[0])
		if strings.EqualFold(first, "none") {
			first = os.DevNull
		}
		if cfg.KnownHostsFile, err = expand(first, alias); err != nil {
			return cfg, nil, err
		}
	}
	if cfg.HostKey == "" {
		switch v := strings.ToLower(r.get(alias, "StrictHostKeyChecking")); v {
		case "", "yes", "ask":
		case "accept-new":
			cfg.AcceptNewHostKey = cfg.AcceptNewHostKey || !cfg.InsecureIgnoreHostKey
		case "no", "off":
			if cfg.AcceptNewHostKey {
				break // accept_new_host_key written in Terraform wins
			}
			cfg.InsecureIgnoreHostKey = true
			warnings = append(warnings, fmt.Sprintf("%s sets StrictHostKeyChecking %s for %s: its host key is not verified, as with insecure_ignore_host_key", path, v, alias))
		default:
			return cfg, nil, r.bad(alias, "StrictHostKeyChecking", v, "yes, accept-new or no")
		}
	}
	if v := r.get(alias, "ProxyJump"); v != "" && len(cfg.Jumps) == 0 && !strings.EqualFold(v, "none") {
		hops := strings.Split(v, ",")
		if len(hops) > sshclient.MaxJumps {
			return cfg, nil, r.bad(alias, "ProxyJump", v, fmt.Sprintf("at most %d hops", sshclient.MaxJumps))
		}
		for _, spec := range hops {
			hop := cfg.Bastion()
			hop.Host, hop.User, hop.Port = "", "", 0
			if err := parseHop(strings.TrimSpace(spec), &hop); err != nil {
				return cfg, nil, r.bad(alias, "ProxyJump", v, "[user@]host[:port] hops separated by commas")
			}
			hopAlias := hop.Host
			if err := r.refuse(hopAlias); err != nil {
				return cfg, nil, err
			}
			if err := r.endpoint(&hop, hopAlias); err != nil {
				return cfg, nil, err
			}
			if hop.User == "" {
				hop.User = cfg.User
			}
			cfg.Jumps = append(cfg.Jumps, hop)
		}
	}
	return cfg, warnings, nil
}

type reader struct {
	file *kssh.Config
	path string
}

func (r reader) get(alias, key string) string {
	v, _ := r.file.Get(alias, key)
	return unquote(strings.TrimSpace(v))
}

// unquote removes the double quotes around a value ("/path with spaces").
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

func (r reader) bad(alias, key, value, want string) error {
	return fmt.Errorf("ssh_config_file %s: %s %q for %s: expected %s", r.path, key, value, alias, want)
}

// refuse fails for a keyword that applies to alias and is not supported.
func (r reader) refuse(alias string) error {
	for _, k := range refused {
		v := r.get(alias, k)
		if v == "" || ((k == "PermitLocalCommand" || k == "CanonicalizeHostname" || k == "ProxyUseFdpass") && !isYes(v)) {
			continue
		}
		return fmt.Errorf("ssh_config_file %s: %s (set for %s) is not supported: it changes how the host is reached, what runs locally or how its key is verified, "+
			"and the provider will not ignore it; write the connection in Terraform (bastion blocks for jump hosts) or remove it for this host", r.path, k, alias)
	}
	return nil
}

func isYes(v string) bool {
	v = strings.ToLower(v)
	return v == "yes" || v == "true" || v == "always"
}

// endpoint fills one hop's HostName, User, Port and credentials from the
// file, where c has none.
func (r reader) endpoint(c *sshclient.Config, alias string) error {
	if v := r.get(alias, "HostName"); v != "" {
		c.Host = strings.ReplaceAll(v, "%h", alias)
	}
	if v := r.get(alias, "User"); v != "" && c.User == "" {
		c.User = v
	}
	if v := r.get(alias, "Port"); v != "" && c.Port == 0 {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return r.bad(alias, "Port", v, "a port number")
		}
		c.Port = n
	}
	if v := r.get(alias, "IdentityAgent"); v != "" && c.AgentSocket == "" {
		switch {
		case strings.EqualFold(v, "none"):
			c.Agent = false
		case v == "SSH_AUTH_SOCK":
		default:
			sock, err := expand(strings.TrimPrefix(v, "$"), alias)
			if err != nil {
				return err
			}
			if strings.HasPrefix(v, "$") {
				sock = os.Getenv(strings.TrimPrefix(v, "$"))
			}
			c.AgentSocket = sock
			if c.PrivateKey == "" && c.Password == "" {
				c.Agent = true
			}
		}
	}
	files, _ := r.file.GetAll(alias, "IdentityFile")
	if len(files) > 0 && c.PrivateKey == "" {
		for _, f := range files {
			p, err := expand(unquote(strings.TrimSpace(f)), alias)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) {
				continue // as OpenSSH: a missing identity file is skipped
			}
			if err != nil {
				return fmt.Errorf("ssh_config_file %s: IdentityFile for %s: %w", r.path, alias, err)
			}
			c.PrivateKey, c.Certificate = string(b), ""
			if isYes(r.get(alias, "IdentitiesOnly")) && c.Agent && c.AgentIdentity == "" {
				if pub, err := os.ReadFile(p + ".pub"); err == nil {
					c.AgentIdentity = strings.TrimSpace(string(pub))
				} else {
					c.Agent = false // only the identity file may be offered
				}
			}
			break
		}
	}
	if v := r.get(alias, "CertificateFile"); v != "" && c.Certificate == "" {
		p, err := expand(v, alias)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("ssh_config_file %s: CertificateFile for %s: %w", r.path, alias, err)
		}
		c.Certificate = strings.TrimSpace(string(b))
	}
	return nil
}

// parseHop parses "[user@]host[:port]" (IPv6 in brackets).
func parseHop(s string, c *sshclient.Config) error {
	if s == "" || strings.HasPrefix(s, "ssh://") {
		return errors.New("bad hop")
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		c.User, s = s[:i], s[i+1:]
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return errors.New("bad port")
		}
		c.Host, c.Port = h, n
		return nil
	}
	c.Host = strings.Trim(s, "[]")
	return nil
}

// expand resolves ~ and the %d (home) and %h (alias) tokens.
func expand(p, alias string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil && (strings.HasPrefix(p, "~") || strings.Contains(p, "%d")) {
		return "", err
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = filepath.Join(home, strings.TrimPrefix(p[1:], "/"))
	}
	p = strings.ReplaceAll(p, "%d", home)
	p = strings.ReplaceAll(p, "%h", alias)
	return p, nil
}
