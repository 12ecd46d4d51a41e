package yama

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

var composedScripts = map[string]string{"read": readScript, "apply": applyScript}

// TestScriptsAreQuotable: transports wrap a script as sh -c '<script>' (and
// sshclient refuses a single quote or NUL), so the composed scripts and
// every embedded file must hold neither; they are kept to plain ASCII so
// that no login shell's multibyte handling is involved.
func TestScriptsAreQuotable(t *testing.T) {
	all := map[string]string{}
	for name, s := range composedScripts {
		all[name+" script"] = s
	}
	for _, f := range []string{"lib.sh", "read.sh", "apply.sh"} {
		all["scripts/"+f] = mustEmbedded(f)
	}
	for name, s := range all {
		for i, r := range s {
			if r == '\'' || r == 0 || r > 0x7e || (r < 0x20 && r != '\n' && r != '\t') {
				line := strings.Count(s[:i], "\n") + 1
				t.Errorf("%s, line %d: character %q is not allowed in a script", name, line, r)
			}
		}
	}
}

// TestScriptComposition: lib.sh is spliced into both entry scripts in
// place of its source line, and the read bound is filled in once.
func TestScriptComposition(t *testing.T) {
	wantL := "\nL=" + strconv.Itoa(MaxFileSize+1) + "\n"
	for name, s := range composedScripts {
		if !strings.Contains(s, wantL) {
			t.Errorf("%s script lacks %q: the read bound was not substituted", name, wantL)
		}
		if strings.Contains(s, maxReadBytesVar) || strings.Contains(s, sourceLib) {
			t.Errorf("%s script still holds a placeholder or the lib.sh source line", name)
		}
		for _, fn := range []string{"field() {", "rec() {", "snapshot() {"} {
			if n := strings.Count(s, "\n"+fn); n != 1 {
				t.Errorf("%s script defines %q %d times, want once", name, fn, n)
			}
		}
		for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
			if t2 := strings.TrimSpace(line); t2 == "" || strings.HasPrefix(t2, "#") {
				t.Errorf("%s script line %d is a comment or blank, which the wire form drops: %q", name, i+1, line)
			}
		}
		if !strings.HasSuffix(s, "\nsnapshot\n") && !strings.HasSuffix(s, "\nsnapshot\nexit \"$rc\"\n") {
			t.Errorf("%s script does not end with its snapshot", name)
		}
	}
	// lib.sh reads B, R and F before apply.sh reads V: the stdin order.
	if i, j := strings.Index(applyScript, "IFS= read -r F"), strings.Index(applyScript, "IFS= read -r V"); i < 0 || j < i {
		t.Errorf("apply script reads V (at %d) before F (at %d)", j, i)
	}
	for _, bad := range []string{"missing.sh", "read.sh"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("composing with %s did not panic", bad)
				}
			}()
			if bad == "read.sh" {
				replaceOnce(bad, "x\nx\n", "x\n", "y") // twice: refused
			} else {
				composeScript(bad)
			}
		}()
	}
}

// TestScriptConfigDirs: the directories the read script lists are
// sysctld.ConfigDirs(), in the same (precedence) order.
func TestScriptConfigDirs(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s*for d in ([^;]*); do$`)
	for name, s := range composedScripts {
		m := re.FindAllStringSubmatch(s, -1)
		if len(m) != 1 {
			t.Fatalf("%s script: %d \"for d in ...; do\" loops, want 1", name, len(m))
		}
		if got, want := strings.Fields(m[0][1]), sysctld.ConfigDirs(); !slices.Equal(got, want) {
			t.Errorf("%s script lists %q, sysctld.ConfigDirs() is %q", name, got, want)
		}
	}
	if !slices.Equal(ConfigDirs, sysctld.ConfigDirs()) {
		t.Errorf("ConfigDirs = %q, want sysctld.ConfigDirs() %q", ConfigDirs, sysctld.ConfigDirs())
	}
}

// TestScriptPaths: the Go copies of the paths the scripts read are the
// paths the scripts read.
func TestScriptPaths(t *testing.T) {
	if SysctlConfPath != sysctld.SysctlConf {
		t.Errorf("SysctlConfPath = %q, sysctld.SysctlConf = %q", SysctlConfPath, sysctld.SysctlConf)
	}
	if yamatest.ProcPath != ProcPath {
		t.Errorf("yamatest.ProcPath = %q, want %q", yamatest.ProcPath, ProcPath)
	}
	for name, s := range composedScripts {
		for _, want := range []string{
			"rec runtime " + ProcPath + "\n",
			"rec systemd " + SystemdRunDir + "\n",
			"entry " + SysctlConfPath + "\n",
			"SD=" + RecordDir + "\n",
		} {
			if !strings.Contains(s, want) {
				t.Errorf("%s script lacks %q", name, want)
			}
		}
	}
	for _, step := range []string{"precheck() {", "set_runtime() {"} {
		i := strings.Index(applyScript, step)
		body, _, _ := strings.Cut(applyScript[i:], "\n}\n")
		if i < 0 || !strings.Contains(body, "y=$R"+ProcPath+"\n") {
			t.Errorf("apply script: %s does not write %s", step, ProcPath)
		}
	}
}
