package yama

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
)

// A BootView is kept in every resource's private state, and Terraform
// rewrites the whole state file after each resource an apply changes (the
// local backend marshals it three times each: two to compare, one to
// write): at 1000 hosts every stored byte is encoded about 3000 times per
// apply, most of Terraform's CPU there. So it is stored compactly, as one
// JSON array,
//
//	[systemd, [K+path], [K+path, payload], ...]
//
// systemd is 0 or 1; K is one letter per entry kind (entryKinds); the
// payload is a link's target, or a regular file's content as text ('f'),
// or base64 when the content is not UTF-8 ('b'); an empty file has none.
// The object form of earlier builds ({"systemd":..,"entries":[..]}) is
// still read.

// entryKinds maps the kind letters of the compact form.
var entryKinds = map[byte]sysctld.Kind{
	'f': sysctld.KindRegular,
	'b': sysctld.KindRegular,
	'd': sysctld.KindDir,
	'l': sysctld.KindSymlink,
	'c': sysctld.KindDevice,
	'o': sysctld.KindOther,
}

// MarshalJSON writes the compact form.
func (v BootView) MarshalJSON() ([]byte, error) {
	out := make([]any, 0, len(v.Entries)+1)
	systemd := 0
	if v.Systemd {
		systemd = 1
	}
	out = append(out, systemd)
	for _, e := range v.Entries {
		k, payload, err := compactEntry(e)
		if err != nil {
			return nil, err
		}
		if payload == "" {
			out = append(out, []string{string(k) + e.Path})
		} else {
			out = append(out, []string{string(k) + e.Path, payload})
		}
	}
	return json.Marshal(out)
}

// compactEntry returns e's kind letter and payload.
func compactEntry(e sysctld.Entry) (byte, string, error) {
	switch e.Kind {
	case sysctld.KindRegular:
		if utf8.Valid(e.Data) {
			return 'f', string(e.Data), nil
		}
		return 'b', base64.StdEncoding.EncodeToString(e.Data), nil
	case sysctld.KindSymlink:
		return 'l', e.Target, nil
	case sysctld.KindDir:
		return 'd', "", nil
	case sysctld.KindDevice:
		return 'c', "", nil
	case sysctld.KindOther:
		return 'o', "", nil
	}
	return 0, "", fmt.Errorf("boot view: %s has unknown kind %v", e.Path, e.Kind)
}

// UnmarshalJSON reads the compact form, or the old object form.
func (v *BootView) UnmarshalJSON(raw []byte) error {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		var old struct {
			Systemd bool            `json:"systemd"`
			Entries []sysctld.Entry `json:"entries"`
		}
		err := json.Unmarshal(raw, &old)
		*v = BootView{Systemd: old.Systemd, Entries: old.Entries}
		return err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("boot view: empty")
	}
	var systemd int
	if err := json.Unmarshal(items[0], &systemd); err != nil {
		return fmt.Errorf("boot view: systemd flag: %w", err)
	}
	out := BootView{Systemd: systemd == 1, Entries: make([]sysctld.Entry, 0, len(items)-1)}
	for _, item := range items[1:] {
		e, err := entryFromCompact(item)
		if err != nil {
			return err
		}
		out.Entries = append(out.Entries, e)
	}
	*v = out
	return nil
}

func entryFromCompact(item json.RawMessage) (sysctld.Entry, error) {
	var parts []string
	if err := json.Unmarshal(item, &parts); err != nil || len(parts) < 1 || len(parts) > 2 || parts[0] == "" {
		return sysctld.Entry{}, fmt.Errorf("boot view: bad entry %s", item)
	}
	k, ok := entryKinds[parts[0][0]]
	if !ok {
		return sysctld.Entry{}, fmt.Errorf("boot view: bad kind in %s", item)
	}
	e := sysctld.Entry{Path: parts[0][1:], Kind: k}
	if len(parts) == 1 {
		return e, nil
	}
	switch parts[0][0] {
	case 'f':
		e.Data = []byte(parts[1])
	case 'b':
		data, err := base64.StdEncoding.DecodeString(parts[1])
		if err != nil {
			return sysctld.Entry{}, fmt.Errorf("boot view: %s: %w", e.Path, err)
		}
		e.Data = data
	case 'l':
		e.Target = parts[1]
	default:
		return sysctld.Entry{}, fmt.Errorf("boot view: %s: a %v has no payload", e.Path, k)
	}
	return e, nil
}
