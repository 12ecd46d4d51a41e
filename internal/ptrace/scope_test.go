package ptrace

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    Scope
		wantErr bool
	}{
		{"0", Classic, false},
		{"1\n", Restricted, false},
		{" 2 ", AdminOnly, false},
		{"3", NoAttach, false},
		{"4", 0, true},
		{"-1", 0, true},
		{"", 0, true},
		{"one", 0, true},
		{"1 2", 0, true},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if c.wantErr {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) error = %v, want ErrInvalid", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestModes(t *testing.T) {
	want := map[Scope]string{0: "classic", 1: "restricted", 2: "admin-only", 3: "no-attach", 4: "invalid", -1: "invalid"}
	for s, m := range want {
		if got := s.Mode(); got != m {
			t.Errorf("Scope(%d).Mode() = %q, want %q", s, got, m)
		}
	}
	if got, want := Describe(), "0 (classic), 1 (restricted), 2 (admin-only) or 3 (no-attach)"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}

func TestCanChangeLive(t *testing.T) {
	for from := Min; from <= Max; from++ {
		for to := Min; to <= Max; to++ {
			err := CanChangeLive(from, to)
			locked := from == NoAttach && to != NoAttach
			if locked != errors.Is(err, ErrLocked) {
				t.Errorf("CanChangeLive(%d, %d) = %v, locked should be %v", from, to, err, locked)
			}
			if !locked && err != nil {
				t.Errorf("CanChangeLive(%d, %d) = %v, want nil", from, to, err)
			}
		}
	}
	if err := CanChangeLive(Classic, 7); !errors.Is(err, ErrInvalid) {
		t.Errorf("CanChangeLive(0, 7) = %v, want ErrInvalid", err)
	}
}
