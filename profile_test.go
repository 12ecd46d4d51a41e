package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// YAMA_CPU_PROFILE_DIR: a provider process leaves its CPU, heap and
// goroutine profiles there; without it, or with a directory it cannot
// write, it writes nothing and runs on.
func TestStartProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(profileEnv, dir)
	stop := startProfile()
	for i := 0; i < 1e6; i++ { // something to sample
		_ = fmt.Sprint(i)
	}
	stop()
	for _, kind := range []string{"cpu", "heap", "goroutine"} {
		p := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", kind, os.Getpid()))
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s profile: %v (want a non-empty %s)", kind, err, p)
		}
	}

	empty := t.TempDir()
	t.Setenv(profileEnv, "")
	startProfile()()
	t.Setenv(profileEnv, filepath.Join(empty, "missing"))
	startProfile()()
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("wrote %d files without a usable %s", len(ents), profileEnv)
	}
}
