package provider

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Plan-time validators. Each message names the attribute (the framework
// adds its path too) and the values it accepts.

type scopeValidator struct{}

var _ validator.Int64 = scopeValidator{}

func (scopeValidator) Description(context.Context) string {
	return "must be " + ptrace.Describe()
}
func (v scopeValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (scopeValidator) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if s := ptrace.Scope(req.ConfigValue.ValueInt64()); !s.Valid() {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid ptrace scope",
			fmt.Sprintf("scope must be %s; got %d.", ptrace.Describe(), req.ConfigValue.ValueInt64()))
	}
}

// stringCheck adapts a func(string) error into a string validator.
type stringCheck struct {
	summary string
	desc    string
	check   func(string) error
}

var _ validator.String = stringCheck{}

func (c stringCheck) Description(context.Context) string { return c.desc }
func (c stringCheck) MarkdownDescription(ctx context.Context) string {
	return c.Description(ctx)
}

func (c stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := c.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, c.summary, fmt.Sprintf("%s: %s.", req.Path, err))
	}
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$`)

// checkHost accepts a DNS name, an IPv4 address or an IPv6 address (bare or
// in brackets). Anything else, spaces and shell metacharacters included, is
// refused before it reaches a dialer or a log line.
func checkHost(h string) error {
	bare := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if _, err := netip.ParseAddr(bare); err == nil {
		return nil
	}
	if !hostnameRE.MatchString(h) || strings.Contains(h, "..") {
		return fmt.Errorf("%q is not a host name or IP address (letters, digits, '-', '_' and '.' only; IPv6 as in \"fd00::1\")", h)
	}
	return nil
}

func checkComment(c string) error {
	if len(c) > 500 {
		return fmt.Errorf("is %d characters long; keep it under 500", len(c))
	}
	for _, r := range c {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains the control character %q; a comment is one line of printable text", r)
		}
	}
	if strings.TrimSpace(c) != c {
		return fmt.Errorf("has leading or trailing blanks, which would not survive a read-back")
	}
	return nil
}

func checkDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\" or \"2m\"", s)
	}
	if d <= 0 {
		return fmt.Errorf("%q must be positive", s)
	}
	return nil
}

func checkUserName(s string) error {
	if strings.HasPrefix(s, "-") || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Errorf("%q is not a valid user name", s)
	}
	return nil
}

var (
	hostValidator = stringCheck{"Invalid host", "a DNS name or an IP address", checkHost}
	fileValidator = stringCheck{"Invalid drop-in file",
		"an absolute path to a *.conf file directly inside " + strings.Join(yama.ConfigDirs, ", "),
		yama.ValidateFile}
	commentValidator  = stringCheck{"Invalid comment", "one line of printable text", checkComment}
	durationValidator = stringCheck{"Invalid timeout", "a positive Go duration", checkDuration}
	userNameValidator = stringCheck{"Invalid user", "a user name", checkUserName}
)
