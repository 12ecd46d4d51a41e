package yama_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Where one host's time goes, against a real sshd in a sandbox host:
//
//	go test -run '^$' -bench . -benchtime 50x ./internal/yama/
//
// (make bench prints these below its fleet table). Login is a fresh TCP
// connection, key exchange, user auth and one `true`; the others run on
// a connection that is already open, as the provider does for a second
// command to the same host.

func benchHost(b *testing.B) (*testhost.Env, *testhost.Host) {
	b.Helper()
	if err := testhost.Available(); err != nil {
		b.Skip(err)
	}
	e := testhost.NewTestEnv(b)
	h, err := e.Start(testhost.Options{Scope: "1"})
	if err != nil {
		b.Fatal(err)
	}
	return e, h
}

func benchConfig(e *testhost.Env, h *testhost.Host) sshclient.Config {
	return sshclient.Config{Host: h.Addr, Port: h.Port, PrivateKey: e.ClientKeyPEM(), KnownHostsFile: e.KnownHostsPath()}
}

// BenchmarkLogin: one new connection per op, by client key type.
func BenchmarkLogin(b *testing.B) {
	e, h := benchHost(b)
	keys := []struct {
		name string
		gen  func() (any, error)
	}{
		{"ed25519", func() (any, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err }},
		{"ecdsa-p256", func() (any, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }},
		{"rsa-3072", func() (any, error) { return rsa.GenerateKey(rand.Reader, 3072) }},
	}
	for _, k := range keys {
		priv, err := k.gen()
		if err != nil {
			b.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			b.Fatal(err)
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			b.Fatal(err)
		}
		authorize(b, h, signer.PublicKey())
		cfg := benchConfig(e, h)
		cfg.PrivateKey = string(pem.EncodeToMemory(block))
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				p := sshclient.NewPool()
				host, err := p.Host(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, stderr, err := host.Run(context.Background(), "true", nil, false); err != nil {
					b.Fatalf("%v: %s", err, stderr)
				}
				p.Close()
			}
		})
	}
}

// authorize adds a client key to root's authorized_keys on the host.
func authorize(b *testing.B, h *testhost.Host, key ssh.PublicKey) {
	b.Helper()
	f, err := os.OpenFile(h.Path("/run/testhost/authorized_keys/root"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(ssh.MarshalAuthorizedKey(key)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenSSHLogin is the benchmark floor's unit: one `ssh` client
// process per op reading the live value.
func BenchmarkOpenSSHLogin(b *testing.B) {
	e, h := benchHost(b)
	ssh, err := exec.LookPath("ssh")
	if err != nil {
		b.Skip(err)
	}
	key := e.ClientKeyPath()
	for b.Loop() {
		out, err := exec.Command(ssh, "-i", key, "-o", "UserKnownHostsFile="+e.KnownHostsPath(), "-o", "StrictHostKeyChecking=yes",
			"-o", "BatchMode=yes", "-p", "22", "root@"+h.Addr, "cat", "/proc/sys/kernel/yama/ptrace_scope").CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// BenchmarkCommand: one exec session per op on an open connection.
func BenchmarkCommand(b *testing.B) {
	e, h := benchHost(b)
	ctx := context.Background()
	users := []struct {
		name string
		cfg  func(sshclient.Config) sshclient.Config
	}{
		{"root", func(c sshclient.Config) sshclient.Config { return c }},
		{"sudo", func(c sshclient.Config) sshclient.Config { c.User, c.Sudo = testhost.UserSudo, true; return c }},
	}
	for _, u := range users {
		p := sshclient.NewPool()
		b.Cleanup(func() { p.Close() })
		host, err := p.Host(u.cfg(benchConfig(e, h)))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := host.Run(ctx, "true", nil, true); err != nil {
			b.Fatal(err) // log in before timing
		}
		b.Run(u.name+"/true", func(b *testing.B) {
			for b.Loop() {
				if _, stderr, err := host.Run(ctx, "true", nil, true); err != nil {
					b.Fatalf("%v: %s", err, stderr)
				}
			}
		})
		b.Run(u.name+"/read", func(b *testing.B) {
			for b.Loop() {
				if _, err := yama.ReadPrivileged(ctx, host, yama.DefaultFile); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(u.name+"/apply-unchanged", func(b *testing.B) {
			c := change(2)
			if _, err := yama.Apply(ctx, host, c); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := yama.Apply(ctx, host, c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(u.name+"/apply-changing", func(b *testing.B) {
			s := ptrace.Scope(1)
			for b.Loop() {
				s = 3 - s
				if _, err := yama.Apply(ctx, host, change(s)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func change(s ptrace.Scope) yama.Change {
	scope := s
	content := []byte(fmt.Sprintf("kernel.yama.ptrace_scope = %d\n", s))
	return yama.Change{File: yama.DefaultFile, Runtime: &scope,
		Files: []yama.FileOp{{Path: yama.DefaultFile, Content: content}}}
}

// BenchmarkFleetMemory opens one pooled connection to each of 50 hosts
// and reads them, as a plan does, then reports what the process holds
// per open connection (heap and goroutine stacks after a GC).
func BenchmarkFleetMemory(b *testing.B) {
	if err := testhost.Available(); err != nil {
		b.Skip(err)
	}
	e := testhost.NewTestEnv(b)
	const n = 50
	hosts, err := e.StartMany(n, testhost.Options{Scope: "1"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		before := memInUse()
		p := sshclient.NewPool()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, h := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				host, err := p.Host(benchConfig(e, h))
				if err == nil {
					_, err = yama.Read(ctx, host, yama.DefaultFile)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		after := memInUse()
		b.ReportMetric(float64(after-before)/n/1024, "KB/conn")
		p.Close()
	}
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
