package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Bad input is rejected at plan time, before any host is contacted, with
// a message naming the attribute. Nothing here needs a sandbox host: the
// configurations point at a TCP listener that counts connections, and the
// test fails if anything ever connects to it.

// pwnedPath is a file that hostile inputs try to create; its name is unique
// per run so a leftover from another run cannot mask or fake a result.
func pwnedPath(t *testing.T, tag string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "/tmp/pwned-" + hex.EncodeToString(b[:]) + "-" + tag
}

// hcl quotes s as an HCL string literal: only HCL's escapes (Go's %q
// would emit \x1b, which HCL rejects), and template sequences escaped.
func hcl(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '\\' || r == '"':
			b.WriteRune('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\u%04x`, r)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r) // $${ and %%{ are a literal ${ and %{
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// countingListener accepts and counts TCP connections.
func countingListener(t *testing.T) (port int, accepted *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted = &atomic.Int64{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, accepted
}

func needTerraform(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") != "" {
		return
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("no terraform binary (TF_ACC_TERRAFORM_PATH or PATH): plan-time validation needs the real CLI")
	}
}

type badInput struct {
	name string
	attr string // the attribute the message must name
	body string // resource arguments
	// match is the error expected; it always includes the attribute name.
	match string
}

func badInputs(pwned string) []badInput {
	var cases []badInput
	scope := func(name, v, match string) {
		cases = append(cases, badInput{name: "scope " + name, attr: "scope", body: "scope = " + v, match: match})
	}
	invalidScope := `Invalid ptrace scope(?s).*scope must be 0 \(classic\), 1 \(restricted\), 2 \(admin-only\) or 3 \(no-attach\)`
	scope("4", "4", invalidScope)
	scope("-1", "-1", invalidScope)
	scope("huge", "9223372036854775807", invalidScope)
	scope("string", `"two"`, `Incorrect attribute value type(?s).*scope.*number is required`)
	// The framework converts scope to an integer before any validator runs;
	// its message names the attribute only through the quoted source line.
	scope("fraction", "1.5", `(?s)scope = 1\.5.*is not an integer`)
	scope("list", "[1]", `Incorrect attribute value type(?s).*scope.*number required`)

	file := func(name, v string) {
		cases = append(cases, badInput{name: "file " + name, attr: "file",
			body: "scope = 2\n  file = " + hcl(v), match: `Invalid drop-in file(?s).*file: .*invalid drop-in path`})
	}
	file("relative", "etc/sysctl.d/10-ptrace.conf")
	file("dot-dot", "/etc/sysctl.d/../sysctl.d/10-ptrace.conf")
	file("dot-dot escape", "/etc/sysctl.d/../../tmp/x.conf")
	file("not clean", "/etc/sysctl.d//10-ptrace.conf")
	file("space", "/etc/sysctl.d/10 ptrace.conf")
	file("newline", "/etc/sysctl.d/10-ptrace.conf\n/etc/passwd")
	file("tab", "/etc/sysctl.d/10\tptrace.conf")
	file("command substitution", "/etc/sysctl.d/$(touch "+pwned+").conf")
	file("backticks", "/etc/sysctl.d/`touch "+pwned+"`.conf")
	file("semicolon", "/etc/sysctl.d/a;touch "+pwned+";.conf")
	file("pipe", "/etc/sysctl.d/a|b.conf")
	file("ampersand", "/etc/sysctl.d/a&b.conf")
	file("redirect", "/etc/sysctl.d/a>b.conf")
	file("single quote", "/etc/sysctl.d/a'b.conf")
	file("double quote", `/etc/sysctl.d/a"b.conf`)
	file("dollar", "/etc/sysctl.d/$HOME.conf")
	file("glob", "/etc/sysctl.d/*.conf")
	file("leading dash", "/etc/sysctl.d/-rf.conf")
	file("hidden", "/etc/sysctl.d/.10-ptrace.conf")
	file("no .conf", "/etc/sysctl.d/10-ptrace")
	file("only .conf", "/etc/sysctl.d/.conf")
	file("outside sysctl.d", "/etc/passwd")
	file("sysctl.conf", "/etc/sysctl.conf")
	file("tmp", "/tmp/10-ptrace.conf")
	file("subdirectory", "/etc/sysctl.d/sub/10-ptrace.conf")
	file("lookalike dir", "/etc/sysctl.d.bak/10-ptrace.conf")
	file("empty", "")
	file("unicode", "/etc/sysctl.d/10-ptrаce.conf") // Cyrillic а

	comment := func(name, v, match string) {
		cases = append(cases, badInput{name: "comment " + name, attr: "comment",
			body: "scope = 2\n  comment = " + hcl(v), match: `Invalid comment(?s).*comment: .*` + match})
	}
	ctl := `contains the control character`
	comment("newline", "first line\nkernel.yama.ptrace_scope = 0", ctl)
	comment("carriage return", "a\rkernel.yama.ptrace_scope = 0", ctl)
	comment("tab", "a\tb", ctl)
	comment("escape sequence", "\x1b[2Jcleared", ctl)
	comment("NUL", "a\x00b", ctl)
	comment("DEL", "a\x7fb", ctl)
	comment("C1 NEL", "a\u0085b", ctl)
	comment("trailing newline", "managed\n", ctl)
	comment("leading blank", " managed", `leading or trailing`)
	comment("too long", strings.Repeat("x", 501), `501 characters`)

	host := func(name, v string) {
		cases = append(cases, badInput{name: "host " + name, attr: "host",
			body: "scope = 2", match: `Invalid host(?s).*host: .*not a host name or IP`})
		cases[len(cases)-1].body = "host  = " + hcl(v) + "\n  scope = 2"
	}
	host("space", "web 1")
	host("semicolon", "web1;touch "+pwned)
	host("command substitution", "$(touch "+pwned+")")
	host("backticks", "`touch "+pwned+"`")
	host("pipe", "web1|nc")
	host("ampersand", "web1&")
	host("ssh option", "-oProxyCommand=touch "+pwned)
	host("user at host", "root@web1")
	host("newline", "web1\nweb2")
	host("quote", "web1'")
	host("dot-dot", "web..example.com")
	host("empty", "")
	host("port suffix", "web1:22")
	return cases
}

// TestBadInputRejectedAtPlan runs `terraform plan` for every bad input and
// expects the plan to fail with the attribute named, without a single
// connection attempt and without the pwned file appearing.
func TestBadInputRejectedAtPlan(t *testing.T) {
	needTerraform(t)
	port, accepted := countingListener(t)
	pwned := pwnedPath(t, "validation")
	known := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	provider := fmt.Sprintf(`
provider "yama" {
  password         = "unused"
  agent            = false
  port             = %d
  known_hosts_file = %q
}
`, port, known)
	for _, c := range badInputs(pwned) {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if !strings.HasPrefix(body, "host") {
				body = "host  = \"127.0.0.1\"\n  " + body
			}
			config := provider + fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  %s
}
`, body)
			if !strings.Contains(c.match, c.attr) {
				t.Fatalf("test bug: pattern %q does not name %s", c.match, c.attr)
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      config,
					PlanOnly:    true,
					ExpectError: wrapTolerant(c.match),
				}},
			})
		})
	}
	// The data source validates host and file the same way.
	for _, c := range badInputs(pwned) {
		if c.attr != "host" && c.attr != "file" {
			continue
		}
		t.Run("data source "+c.name, func(t *testing.T) {
			body := strings.Replace(c.body, "scope = 2", "", 1)
			if !strings.HasPrefix(body, "host") {
				body = "host  = \"127.0.0.1\"\n  " + body
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: provider + fmt.Sprintf(`
data "yama_ptrace_scope" "test" {
  %s
}
`, body),
					PlanOnly:    true,
					ExpectError: wrapTolerant(c.match),
				}},
			})
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections were made while validating bad input; plan must fail before contacting anything", n)
	}
	if _, err := os.Stat(pwned); !os.IsNotExist(err) {
		t.Errorf("%s exists: some input was executed (%v)", pwned, err)
	}
}

// wrapTolerant compiles pattern so that each space also matches the line
// breaks terraform inserts when it wraps a message.
func wrapTolerant(pattern string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(pattern, " ", `\s+`))
}

// The validators themselves, without terraform: every bad value is
// refused, every good one accepted, and each message names the attribute.
func TestBadInputValidators(t *testing.T) {
	pwned := pwnedPath(t, "unit")
	checks := map[string]validator.String{"file": fileValidator, "comment": commentValidator, "host": hostValidator}
	for _, c := range badInputs(pwned) {
		v, ok := checks[c.attr]
		if !ok {
			continue
		}
		value := hclValue(t, c.body, c.attr)
		resp := &validator.StringResponse{}
		v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root(c.attr), ConfigValue: types.StringValue(value)}, resp)
		if !resp.Diagnostics.HasError() {
			t.Errorf("%s: %q accepted", c.name, value)
			continue
		}
		if d := resp.Diagnostics.Errors()[0].Detail(); !strings.HasPrefix(d, c.attr+": ") {
			t.Errorf("%s: message %q does not start with the attribute name", c.name, d)
		}
	}
	good := map[string][]string{
		"file":    {"/etc/sysctl.d/10-ptrace.conf", "/run/sysctl.d/60-yama.conf", "/usr/local/lib/sysctl.d/a+b@c_d.conf", "/usr/lib/sysctl.d/10-default-yama-scope.conf", "/lib/sysctl.d/x.conf"},
		"comment": {"Managed by Terraform", "$(touch " + pwned + ") `id` ; 'quoted' \"double\" \\ %s %n && | > < * ~ ${HOME}", "développeur — ünïcödé ✓"},
		"host":    {"web1", "web1.example.com", "127.0.0.1", "fd00::1", "[fd00::1]", "under_score.example"},
	}
	for attr, values := range good {
		for _, value := range values {
			resp := &validator.StringResponse{}
			checks[attr].ValidateString(context.Background(), validator.StringRequest{Path: path.Root(attr), ConfigValue: types.StringValue(value)}, resp)
			if resp.Diagnostics.HasError() {
				t.Errorf("%s %q refused: %v", attr, value, resp.Diagnostics)
			}
		}
	}
	for _, s := range []int64{-1, 4, 1 << 40} {
		resp := &validator.Int64Response{}
		scopeValidator{}.ValidateInt64(context.Background(), validator.Int64Request{Path: path.Root("scope"), ConfigValue: types.Int64Value(s)}, resp)
		if !resp.Diagnostics.HasError() || !strings.Contains(resp.Diagnostics.Errors()[0].Detail(), "scope must be") {
			t.Errorf("scope %d: %v", s, resp.Diagnostics)
		}
	}
}

// hclValue recovers the Go string a test case put into its HCL body.
func hclValue(t *testing.T, body, attr string) string {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		name, lit, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(name) != attr {
			continue
		}
		return unhcl(t, strings.TrimSpace(lit))
	}
	t.Fatalf("no %s in %q", attr, body)
	return ""
}

func unhcl(t *testing.T, lit string) string {
	t.Helper()
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		t.Fatalf("not a string literal: %s", lit)
	}
	s := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				var r rune
				fmt.Sscanf(s[i+1:i+5], "%04x", &r)
				b.WriteRune(r)
				i += 4
			default:
				b.WriteByte(s[i])
			}
		case (s[i] == '$' || s[i] == '%') && i+2 < len(s) && s[i+1] == s[i] && s[i+2] == '{':
			b.WriteByte(s[i])
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
