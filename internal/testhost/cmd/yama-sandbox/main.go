// Command yama-sandbox starts sandbox SSH hosts (see package testhost) for
// demos and benchmarks:
//
//	go run ./internal/testhost/cmd/yama-sandbox -n 3 -dir /tmp/demo [-scope 1] [-port 22] [-stdin-eof]
//
// It writes DIR/id_ed25519 (0600), DIR/known_hosts and DIR/env.json, prints
// "ready" on stdout, and runs until SIGINT/SIGTERM (or stdin EOF with
// -stdin-eof); then it stops every host and removes those files. env.json:
//
//	{"hosts": [{"name": "yama-h1", "address": "127.123.0.1", "port": 22,
//	            "host_key": "ssh-ed25519 AAAA...", "known_hosts_line": "127.123.0.1 ssh-ed25519 AAAA...",
//	            "dir": "/dev/shm/...", "yama_file": "<outside path of the host's ptrace_scope>", "pid": 1234}],
//	 "client_key": "DIR/id_ed25519", "client_public_key": "ssh-ed25519 AAAA...",
//	 "known_hosts": "DIR/known_hosts",
//	 "users": {"root": "root", "sudo": "yamasudo", "sudo_password": "yamapw", "plain": "yamauser"},
//	 "passwords": {"yamapw": "...", "yamauser": "..."}}
//
// Needs root and openssh-server; traffic stays on 127.0.0.0/8.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

type hostJSON struct {
	Name           string `json:"name"`
	Address        string `json:"address"`
	Port           int    `json:"port"`
	HostKey        string `json:"host_key"`
	KnownHostsLine string `json:"known_hosts_line"`
	Dir            string `json:"dir"`
	YamaFile       string `json:"yama_file"`
	Pid            int    `json:"pid"`
}

type envJSON struct {
	Hosts           []hostJSON        `json:"hosts"`
	ClientKey       string            `json:"client_key"`
	ClientPublicKey string            `json:"client_public_key"`
	KnownHosts      string            `json:"known_hosts"`
	Users           map[string]string `json:"users"`
	Passwords       map[string]string `json:"passwords"`
}

func main() {
	n := flag.Int("n", 1, "number of hosts")
	dir := flag.String("dir", "", "directory for env.json, the client key and known_hosts (required)")
	scope := flag.String("scope", "1", "initial kernel.yama.ptrace_scope of every host")
	port := flag.Int("port", 22, "sshd port of every host")
	stdinEOF := flag.Bool("stdin-eof", false, "also stop when stdin reaches EOF")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("yama-sandbox: ")
	if *dir == "" || *n < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *n, testhost.Options{Scope: *scope, Port: *port}, *stdinEOF); err != nil {
		log.Fatal(err)
	}
}

func run(dir string, n int, opts testhost.Options, stdinEOF bool) (err error) {
	// Subscribe before starting anything, so an early SIGTERM still cleans up.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	// `go run` dies on SIGTERM without passing it on to the program it
	// built: have the kernel send us SIGTERM when our parent exits.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return fmt.Errorf("prctl: %w", errno)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	envFile := filepath.Join(dir, "env.json")
	// Leftovers of a killed run (its sshds died with it: Pdeathsig).
	for _, f := range []string{"env.json", "env.json.tmp", "hosts", "id_ed25519", "id_ed25519.pub", "known_hosts", "known_hosts.tmp"} {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	env, err := testhost.NewEnv(dir)
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, env.Close(), os.RemoveAll(envFile))
	}()

	t0 := time.Now()
	hosts, err := env.StartMany(n, opts)
	if err != nil {
		return err
	}
	log.Printf("%d hosts started in %v", n, time.Since(t0).Round(time.Millisecond))
	out := envJSON{
		ClientKey:       env.ClientKeyPath(),
		ClientPublicKey: env.ClientPublicKey(),
		KnownHosts:      env.KnownHostsPath(),
		Users:           map[string]string{"root": testhost.UserRoot, "sudo": testhost.UserSudo, "sudo_password": testhost.UserPW, "plain": testhost.UserPlain},
		Passwords:       map[string]string{testhost.UserPW: testhost.PasswordPW, testhost.UserPlain: testhost.PasswordUser},
	}
	for _, h := range hosts {
		out.Hosts = append(out.Hosts, hostJSON{h.Name, h.Addr, h.Port, h.HostKey, h.KnownHostsLine(), h.Dir, h.Path(testhost.YamaPath), h.Pid})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	// Write-then-rename: a reader polling for env.json never sees half of it.
	if err := os.WriteFile(envFile+".tmp", append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(envFile+".tmp", envFile); err != nil {
		return err
	}
	fmt.Println("ready")

	eof := make(chan struct{})
	if stdinEOF {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(eof) }()
	}
	select {
	case s := <-stop:
		log.Printf("%v: stopping", s)
	case <-eof:
		log.Print("stdin closed: stopping")
	}
	return nil
}
