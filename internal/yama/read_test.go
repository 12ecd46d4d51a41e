package yama

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

func TestReadReportsRuntimeAndDropIn(t *testing.T) {
	files := map[string]string{
		DefaultFile:                         "kernel.yama.ptrace_scope = 2\n",
		"/usr/lib/sysctl.d/50-pid-max.conf": "kernel.pid_max = 4194304\n",
		"/usr/lib/sysctl.d/README":          "not a conf file\n",
		"/etc/sysctl.conf":                  "# empty\n",
	}
	yamatest.EachShell(t, "1\n", files, func(t *testing.T, h yamatest.LocalHost) {
		st, err := Read(context.Background(), h, DefaultFile)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Available || st.Runtime != ptrace.Restricted {
			t.Errorf("runtime = %v/%v, want available 1", st.Available, st.Runtime)
		}
		if st.Managed.Kind != KindRegular || string(st.Managed.Content) != files[DefaultFile] {
			t.Errorf("managed = %+v", st.Managed)
		}
		if st.Systemd {
			t.Error("systemd reported without /run/systemd/system")
		}
		var conf []string
		for _, f := range st.Config {
			if f.Kind == KindRegular {
				conf = append(conf, f.Path)
			}
		}
		want := []string{DefaultFile, "/usr/lib/sysctl.d/50-pid-max.conf", "/etc/sysctl.conf"}
		if strings.Join(conf, " ") != strings.Join(want, " ") {
			t.Errorf("config files = %v, want %v", conf, want)
		}
	})
}

func TestReadWithoutYama(t *testing.T) {
	yamatest.EachShell(t, "", nil, func(t *testing.T, h yamatest.LocalHost) {
		st, err := Read(context.Background(), h, DefaultFile)
		if err != nil {
			t.Fatal(err)
		}
		if st.Available {
			t.Error("Available = true on a host without the proc file")
		}
		if st.Managed.Exists() {
			t.Errorf("managed file reported: %+v", st.Managed)
		}
	})
}

func TestReadSymlinksAndSystemd(t *testing.T) {
	yamatest.EachShell(t, "0", map[string]string{"/etc/sysctl.conf": "kernel.yama.ptrace_scope=2\n"}, func(t *testing.T, h yamatest.LocalHost) {
		yamatest.Symlink(t, h.Dir, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
		yamatest.Symlink(t, h.Dir, "/etc/sysctl.d/10-ptrace.conf", "/dev/null")
		if err := os.MkdirAll(filepath.Join(h.Dir, SystemdRunDir), 0o755); err != nil {
			t.Fatal(err)
		}
		// A managed drop-in that is a link, even to /dev/null, is refused
		// (TestReadRefusesUnsafeDropIn); the listing is what this is about.
		st, err := Read(context.Background(), h, "/etc/sysctl.d/20-other.conf")
		if err != nil {
			t.Fatal(err)
		}
		if !st.Systemd {
			t.Error("systemd not detected")
		}
		if m := st.Lookup(DefaultFile); m.Kind != KindSymlink || m.Target != "/dev/null" || len(m.Content) != 0 {
			t.Errorf("10-ptrace.conf = %+v, want a link to /dev/null with no content", m)
		}
		var link *File
		for i, f := range st.Config {
			if f.Path == "/etc/sysctl.d/99-sysctl.conf" {
				link = &st.Config[i]
			}
		}
		if link == nil || link.Kind != KindSymlink || link.Target != "../sysctl.conf" || string(link.Content) != "kernel.yama.ptrace_scope=2\n" {
			t.Errorf("99-sysctl.conf = %+v", link)
		}
	})
}

func TestReadRefusesOversizedDropIn(t *testing.T) {
	big := strings.Repeat("#", MaxFileSize+10)
	yamatest.EachShell(t, "1", map[string]string{DefaultFile: big}, func(t *testing.T, h yamatest.LocalHost) {
		_, err := Read(context.Background(), h, DefaultFile)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
}

func TestReadContentIsExact(t *testing.T) {
	// Trailing blank lines, no final newline, bytes that look like markup:
	// the content must come back byte for byte or drift would be invented.
	content := "kernel.yama.ptrace_scope = 1\n\n\n# end \x1e\\n $(x) 'q'"
	yamatest.EachShell(t, "1", map[string]string{DefaultFile: content}, func(t *testing.T, h yamatest.LocalHost) {
		st, err := Read(context.Background(), h, DefaultFile)
		if err != nil {
			t.Fatal(err)
		}
		if string(st.Managed.Content) != content {
			t.Errorf("content = %q, want %q", st.Managed.Content, content)
		}
	})
}
