package provider

import (
	"fmt"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// A destroy's refused login or sudo is recognised from the diagnostic
// hostDiagnostic gives it (typed by the sentinel, through the advice
// table), so the write-only hint is added; other failures get no hint.
func TestIsCredentialRefusal(t *testing.T) {
	for err, want := range map[error]bool{
		sshclient.ErrAuthFailed:        true,
		sshclient.ErrSudoPassword:      true,
		sshclient.ErrSudoNeedsPassword: true,
		sshclient.ErrSudoNotAllowed:    true,
		sshclient.ErrUnreachable:       false,
		sshclient.ErrHostKeyChanged:    false,
		sshclient.ErrCommandTimeout:    false,
	} {
		d := hostDiagnostic("h1:22", fmt.Errorf("ssh: %w", err))
		if got := isCredentialRefusal(d.Summary()); got != want {
			t.Errorf("%v (summary %q): isCredentialRefusal = %t, want %t", err, d.Summary(), got, want)
		}
	}
}
