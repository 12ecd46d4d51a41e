package testhost

import (
	"net"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh/agent"
)

// AgentKey is one identity for ServeAgent.
type AgentKey struct {
	PrivateKey any // as agent.AddedKey takes it: *ed25519.PrivateKey, ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey
	Comment    string
}

// ServeAgent runs an in-memory SSH agent holding keys, in that order (the
// order clients try them), on a unix socket in tb.TempDir(), and returns the
// socket path for SSH_AUTH_SOCK. It stops with the test.
func ServeAgent(tb testing.TB, keys ...AgentKey) string {
	tb.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k.PrivateKey, Comment: k.Comment}); err != nil {
			tb.Fatal(err)
		}
	}
	sock := filepath.Join(tb.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // listener closed: the test is over
			}
			go func() {
				defer func() { _ = c.Close() }()
				_ = agent.ServeAgent(kr, c) // ends when the client hangs up
			}()
		}
	}()
	return sock
}
