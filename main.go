// Command terraform-provider-yama is a Terraform provider that manages the
// Linux Yama LSM setting kernel.yama.ptrace_scope on hosts over SSH.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/terraform-yama/terraform-provider-yama/internal/provider"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Address is the provider's registry source address.
const Address = "registry.terraform.io/terraform-yama/yama"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	// Under -debug the provider runs in the developer's terminal, where
	// Terraform's TF_LOG never arrives: keep the loggers' defaults there.
	if !debug {
		quietLogsUnlessAsked()
		exitWhenOrphaned(os.Getppid, parentPoll, orphanGrace, os.Exit)
	}

	stopProfile := startProfile()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         Address,
		Debug:           debug,
		ProtocolVersion: 6,
	})
	stopProfile()
	if err != nil {
		log.Fatal(err)
	}
}

// How often the provider checks that Terraform is still there, and how
// long it lets cancelled operations stop their remote commands before it
// exits.
const (
	parentPoll  = 250 * time.Millisecond
	orphanGrace = 500 * time.Millisecond
)

// exitWhenOrphaned ends the provider once the process that started it
// (terraform) is gone, e.g. killed with SIGKILL: go-plugin would otherwise
// keep serving forever, holding its pooled SSH connections open (their
// keepalives keep them alive), since only Terraform's Shutdown call or a
// kill from Terraform ends it. When the parent dies, the kernel gives the
// provider a new parent, so getppid changes. Terraform's death also closes
// the gRPC connection, which cancels the contexts of the requests in
// flight: their remote commands are stopped at once (see sshclient.Run);
// grace lets that finish before exit closes every connection.
//
// A parent of 1 or less at start (started by init, or a platform without
// that notion) is not watched. On Windows a process keeps its parent's id
// after the parent exits, so the watch never fires there; Terraform kills
// its plugins itself when it exits normally on every platform.
func exitWhenOrphaned(getppid func() int, poll, grace time.Duration, exit func(int)) {
	parent := getppid()
	if parent <= 1 {
		return
	}
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for range t.C {
			if getppid() != parent {
				time.Sleep(grace)
				exit(1)
				return
			}
		}
	}()
}
