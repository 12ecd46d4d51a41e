package main

import (
	"os"
	"strings"
)

// logLevelVars are the variables with which Terraform users ask for logs
// (TF_LOG for everything, the others per part).
var logLevelVars = []string{
	"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_YAMA",
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK",
}

// quietLogsUnlessAsked turns the plugin SDK's and the provider's loggers off
// when the user asked for no logs at all. Without a level they default to
// TRACE: the framework then formats a JSON line for every step of every
// request, and Terraform decodes each one only to drop it. At 200 hosts that
// was a fifth of the provider's CPU and more of Terraform's
// (hashicorp/terraform-plugin-framework#1269). Any of the variables above
// set to a level (not "off"), even one that shows little, leaves every
// logger as it was.
func quietLogsUnlessAsked() {
	for _, v := range logLevelVars {
		if l := os.Getenv(v); l != "" && !strings.EqualFold(l, "off") {
			return
		}
	}
	for _, v := range logLevelVars[1:] {
		// Setenv fails only for a name with '=' or NUL in it, and these
		// are fixed names; were it to fail, logs would stay at TRACE.
		_ = os.Setenv(v, "off")
	}
}
