package yama

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

// newBoundary returns a fresh random field separator for one script run.
func newBoundary() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return "\x1eyama-" + hex.EncodeToString(b[:]) + "\x1e"
}

const fieldsPerRecord = 6

// parseOutput turns the scripts' stdout into a State. It rejects anything
// that is not exactly the expected sequence of records, so a truncated or
// foreign output can never be mistaken for a host's state.
func parseOutput(out []byte, boundary string) (*State, error) {
	fields := bytes.Split(out, []byte(boundary))
	if len(fields) < 2 || len(fields[0]) != 0 {
		return nil, fmt.Errorf("%w: output does not start with a record", ErrProtocol)
	}
	fields = fields[1:]
	if string(fields[len(fields)-1]) != "end" {
		return nil, fmt.Errorf("%w: output is cut short (no end marker)", ErrProtocol)
	}
	fields = fields[:len(fields)-1]
	if len(fields)%fieldsPerRecord != 0 {
		return nil, fmt.Errorf("%w: %d fields is not a whole number of records", ErrProtocol, len(fields))
	}
	st := &State{}
	var sawRuntime, sawManaged bool
	for i := 0; i < len(fields); i += fieldsPerRecord {
		tag := string(fields[i])
		f, err := parseFile(fields[i+1 : i+fieldsPerRecord])
		if err != nil {
			return nil, err
		}
		switch tag {
		case "runtime":
			sawRuntime = true
			if err := st.setRuntime(f); err != nil {
				return nil, err
			}
		case "systemd":
			st.Systemd = f.Kind == KindDir
		case "managed":
			sawManaged = true
			st.Managed = f
		case "meta":
			// The ls -ln line of the managed drop-in, right after it.
			if sawManaged && f.Path == st.Managed.Path && len(f.Content) > 0 {
				if m, err := ParseMeta(string(f.Content)); err == nil {
					st.Managed.Meta = m
				}
			}
		case "orig":
			st.Original = f
		case "dir", "entry":
			st.Config = append(st.Config, f)
		default:
			return nil, fmt.Errorf("%w: unknown record %q", ErrProtocol, tag)
		}
	}
	if !sawRuntime || !sawManaged {
		return nil, fmt.Errorf("%w: runtime or managed record missing", ErrProtocol)
	}
	return st, nil
}

func parseFile(f [][]byte) (File, error) {
	kind, path, target, content, state := FileKind(f[0]), string(f[1]), string(f[2]), f[3], string(f[4])
	switch kind {
	case KindRegular, KindSymlink, KindDir, KindOther, KindMissing:
	default:
		return File{}, fmt.Errorf("%w: unknown file kind %q for %s", ErrProtocol, kind, path)
	}
	file := File{Path: path, Kind: kind, Target: target}
	switch state {
	case "ok":
		file.Readable = true
		if len(content) > MaxFileSize {
			file.TooLarge = true
		} else {
			file.Content = bytes.Clone(content)
		}
	case "withheld":
		file.Withheld = true
	case "none", "unreadable":
	default:
		return File{}, fmt.Errorf("%w: unknown read state %q for %s", ErrProtocol, state, path)
	}
	return file, nil
}

func (st *State) setRuntime(f File) error {
	if f.Kind == KindMissing {
		return nil // no Yama: Available stays false
	}
	if !f.Readable {
		return fmt.Errorf("%w: %s exists but could not be read", ErrProtocol, ProcPath)
	}
	// The kernel prints "N\n"; read it as the kernel reads the file.
	v, err := ptrace.KernelParse(string(f.Content))
	if err != nil {
		return fmt.Errorf("%w: %s holds %w", ErrProtocol, ProcPath, err)
	}
	st.Available, st.Runtime = true, v
	return nil
}
