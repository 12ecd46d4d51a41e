package sshclient

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// maxPasswordPrompts bounds keyboard-interactive rounds: a server that keeps
// asking is rejecting the password, and looping would only lock the account.
const maxPasswordPrompts = 3

// authSetup holds the auth methods for one handshake and the agent
// connection they may open, which must stay open while the agent signs
// and be closed once the handshake is over.
type authSetup struct {
	methods []ssh.AuthMethod

	mu        sync.Mutex
	agentConn net.Conn
	agentErr  error // why the agent contributed no keys, for the auth error
}

// agentProblem returns why the agent could not be used, if it could not.
func (a *authSetup) agentProblem() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.agentErr
}

func (a *authSetup) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.agentConn != nil {
		// Best effort: the agent was only needed for the handshake.
		_ = a.agentConn.Close()
		a.agentConn = nil
	}
}

// newAuthSetup returns methods in preference order: key, agent, password.
// The private key and agent signers share ONE publickey method because
// x/crypto only tries the first AuthMethod of each RFC 4252 method name.
func newAuthSetup(r *resolved, warn func(msg string, fields map[string]any)) *authSetup {
	a := &authSetup{}
	if len(r.signers) > 0 || r.agentSocket != "" {
		var once sync.Once
		var signers []ssh.Signer
		var agentErr error
		a.methods = append(a.methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			once.Do(func() {
				signers = slices.Clone(r.signers)
				if r.agentSocket == "" {
					return
				}
				fromAgent, err := a.agentSigners(r)
				if err != nil {
					agentErr = err
					a.mu.Lock()
					a.agentErr = err
					a.mu.Unlock()
					warn("ssh agent unavailable", map[string]any{"agent_socket": r.agentSocket, "error": err.Error()})
					return
				}
				signers = append(signers, fromAgent...)
			})
			if len(signers) == 0 && agentErr != nil {
				return nil, agentErr
			}
			return signers, nil
		}))
	}
	if r.Password != "" {
		pw := r.Password
		a.methods = append(a.methods, ssh.Password(pw))
		var mu sync.Mutex
		prompts := 0
		a.methods = append(a.methods, ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			answers := make([]string, len(questions))
			for i, q := range questions {
				// Only answer things that look like a password prompt; never
				// hand the password to e.g. an OTP or "Verification code" prompt.
				if (i < len(echos) && echos[i]) || !strings.Contains(strings.ToLower(q), "password") {
					return nil, fmt.Errorf("keyboard-interactive prompt %q is not a password prompt", q)
				}
				prompts++
				if prompts > maxPasswordPrompts {
					return nil, errors.New("keyboard-interactive: server asked for the password repeatedly")
				}
				answers[i] = pw
			}
			return answers, nil
		}))
	}
	return a
}

// agentSigners returns the agent's keys, only those AgentIdentity selects
// when it is set, and with Certificate attached to the key it certifies
// when no private key was given.
func (a *authSetup) agentSigners(r *resolved) ([]ssh.Signer, error) {
	conn, err := net.DialTimeout("unix", r.agentSocket, r.Timeout)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to SSH agent at %s: %w", r.agentSocket, err)
	}
	a.mu.Lock()
	a.agentConn = conn
	a.mu.Unlock()
	client := agent.NewClient(conn)
	keys, err := client.List()
	if err != nil {
		return nil, fmt.Errorf("cannot list SSH agent keys at %s: %w", r.agentSocket, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("SSH agent at %s holds no keys", r.agentSocket)
	}
	selected := map[string]bool{} // key blobs
	var held []string
	for _, k := range keys {
		held = append(held, describeAgentKey(k))
		if r.agentID == nil || r.agentID.matches(k) {
			selected[string(k.Blob)] = true
		}
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("SSH agent at %s holds no key matching the agent identity %s; it holds: %s",
			r.agentSocket, r.agentID, strings.Join(held, ", "))
	}
	all, err := client.Signers()
	if err != nil {
		return nil, fmt.Errorf("cannot list SSH agent keys at %s: %w", r.agentSocket, err)
	}
	var signers []ssh.Signer
	for _, s := range all {
		if selected[string(s.PublicKey().Marshal())] {
			signers = append(signers, s)
		}
	}
	if r.cert != nil && len(r.signers) == 0 {
		for _, s := range signers {
			if bytes.Equal(s.PublicKey().Marshal(), r.cert.Key.Marshal()) {
				cs, err := ssh.NewCertSigner(r.cert, s)
				if err != nil {
					return nil, fmt.Errorf("cannot use the certificate with the agent key %s: %w", ssh.FingerprintSHA256(r.cert.Key), err)
				}
				return append([]ssh.Signer{cs}, signers...), nil
			}
		}
		return nil, fmt.Errorf("SSH agent at %s holds no selected key for the certificate (issued for %s)",
			r.agentSocket, ssh.FingerprintSHA256(r.cert.Key))
	}
	return signers, nil
}

// describeAgentKey prints an agent key as `ssh-add -l` does: public facts only.
func describeAgentKey(k *agent.Key) string {
	pub, err := ssh.ParsePublicKey(k.Blob)
	if err != nil {
		return fmt.Sprintf("%s (%q)", k.Format, k.Comment)
	}
	return fmt.Sprintf("%s %s (%q)", ssh.FingerprintSHA256(pub), pub.Type(), k.Comment)
}
