// Command terraform-provider-yama is a Terraform provider that manages the
// Linux Yama LSM setting kernel.yama.ptrace_scope on hosts over SSH.
package main

import (
	"context"
	"flag"
	"log"

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
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         Address,
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err)
	}
}
