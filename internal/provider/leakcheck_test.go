package provider

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// leakCheck runs terraform commands with TF_LOG=trace written to files and
// then looks for every secret in those logs, in the commands' output and
// in whatever else the test adds to artifacts (state files, saved plans).
type leakCheck struct {
	t         *testing.T
	logs      string
	secrets   map[string]string // what -> the secret text
	outputs   []string
	artifacts map[string]string // where -> text to search
}

func newLeakCheck(t *testing.T, secrets map[string]string) *leakCheck {
	logs := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	return &leakCheck{t: t, logs: logs, secrets: secrets, artifacts: map[string]string{}}
}

// addPEM adds a PEM block to the secrets, whole and line by line (a log
// that escapes newlines still holds each line).
func (l *leakCheck) addPEM(what, p string) {
	l.secrets[what+" (whole)"] = p
	for i, line := range pemBodyLines(p) {
		l.secrets[fmt.Sprintf("%s PEM line %d", what, i+1)] = line
	}
}

// run runs terraform in w with trace logs to NAME.log, fails the test
// unless it exits wantCode, and returns its output.
func (l *leakCheck) run(w *tfWorkdir, name string, wantCode int, args ...string) string {
	l.t.Helper()
	w.env = append(w.env, "TF_LOG=trace", "TF_LOG_PROVIDER=trace", "TF_LOG_PATH="+filepath.Join(l.logs, name+".log"))
	out, code := w.run(args...)
	w.env = w.env[:len(w.env)-3]
	l.outputs = append(l.outputs, out)
	if code != wantCode {
		l.t.Fatalf("%s: exit %d, want %d\n%s", name, code, wantCode, out)
	}
	return out
}

// logText is every trace log written so far.
func (l *leakCheck) logText() string {
	l.t.Helper()
	ents, err := os.ReadDir(l.logs)
	if err != nil {
		l.t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(l.logs, e.Name()))
		if err != nil {
			l.t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// assertNoSecret reports every secret found in the logs, the output or an
// artifact, with what surrounds it.
func (l *leakCheck) assertNoSecret() {
	l.t.Helper()
	l.artifacts["TF_LOG=trace logs"] = l.logText()
	l.artifacts["terraform output"] = strings.Join(l.outputs, "\n")
	for what, s := range l.secrets {
		for where, hay := range l.artifacts {
			if i := strings.Index(hay, s); i >= 0 {
				lo, hi := max(0, i-200), min(len(hay), i+len(s)+50)
				l.t.Errorf("%s appears in the %s: ...%s...", what, where, hay[lo:hi])
			}
		}
	}
}

// encryptedKeyFor returns a new ed25519 key, in OpenSSH PEM encrypted with
// passphrase, that h accepts for user.
func encryptedKeyFor(t *testing.T, h *testhost.Host, user, passphrase string) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(h.Path("/run/testhost/authorized_keys/"+user), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(ssh.MarshalAuthorizedKey(sshPub)); err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// pemBodyLines returns the base64 lines of a PEM block (not BEGIN/END).
func pemBodyLines(p string) []string {
	var out []string
	for _, l := range strings.Split(p, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "-----") {
			continue
		}
		out = append(out, l)
	}
	return out
}
