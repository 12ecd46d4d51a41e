package main

import (
	"os"
	"testing"
)

func TestQuietLogsUnlessAsked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   map[string]string
		quiet bool
	}{
		{"no log variable", nil, true},
		{"TF_LOG", map[string]string{"TF_LOG": "trace"}, false},
		{"TF_LOG=off", map[string]string{"TF_LOG": "OFF"}, true},
		{"TF_LOG_PROVIDER only", map[string]string{"TF_LOG_PROVIDER": "debug"}, false},
		{"TF_LOG_SDK_FRAMEWORK only", map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range logLevelVars {
				t.Setenv(v, tc.set[v]) // restored after the subtest
			}
			quietLogsUnlessAsked()
			for _, v := range logLevelVars {
				want := tc.set[v]
				if tc.quiet && v != "TF_LOG" { // TF_LOG is Terraform's own: left as set
					want = "off"
				}
				if got := os.Getenv(v); got != want {
					t.Errorf("%s = %q, want %q", v, got, want)
				}
			}
		})
	}
}
