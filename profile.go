package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// profileEnv names a directory: when set, each provider process writes a
// CPU profile of its whole life to DIR/cpu-PID.pprof and, when it ends,
// its heap and goroutine profiles to DIR/heap-PID.pprof and
// DIR/goroutine-PID.pprof (read them with `go tool pprof`;
// the heap profile's alloc_space shows what a whole run allocated).
// Terraform starts one provider process per walk, so a changing apply
// leaves two of each.
const profileEnv = "YAMA_CPU_PROFILE_DIR"

// startProfile starts the CPU profile asked for by profileEnv and returns
// the function that ends it; without profileEnv it does nothing. A profile
// that cannot be started is reported on stderr (Terraform logs it) and the
// provider runs on: it is a measuring aid, never a reason to fail.
func startProfile() (stop func()) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", profileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		for _, p := range []string{"heap", "goroutine"} {
			if h, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", p, os.Getpid()))); err == nil {
				_ = pprof.Lookup(p).WriteTo(h, 0)
				_ = h.Close()
			}
		}
	}
}
