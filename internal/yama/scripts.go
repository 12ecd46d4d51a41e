package yama

import (
	"embed"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The scripts are the only commands this package ever runs. They live as
// POSIX sh files under scripts/ (the protocol, stdin and output, is
// described in scripts/lib.sh; output.go parses it) and are composed once,
// at init, into two strings that never change:
//
//   - the line ". ./lib.sh" in read.sh and apply.sh is replaced by lib.sh,
//     so each function exists once and shellcheck (which follows the
//     source line) checks each entry script whole;
//   - the placeholder @MAX_READ_BYTES@ in lib.sh becomes MaxFileSize+1,
//     the one source of that bound;
//   - comment lines and blank lines are dropped: they are for readers of
//     the files, and every command sends the script to the host (the
//     scripts have no here-documents or multi-line strings in which such
//     a line could be data).
//
// They contain no single quote (TestScriptsAreQuotable), so a transport
// may wrap them in one; sshclient sends them base64-encoded inside a
// one-line command that every login shell passes to /bin/sh.
var (
	//go:embed scripts/lib.sh scripts/read.sh scripts/apply.sh
	scriptFS embed.FS

	// readScript reports the live value, the managed drop-in and every
	// sysctl.d file. It needs no privilege.
	readScript = composeScript("read.sh")
	// applyScript writes or removes drop-ins and sets the live value, then
	// reports the resulting state exactly as readScript does.
	applyScript = composeScript("apply.sh")
)

const (
	sourceLib       = ". ./lib.sh\n"
	maxReadBytesVar = "@MAX_READ_BYTES@"
)

// composeScript returns scripts/<entry> with lib.sh spliced in for its
// source line and the read bound filled in. It panics if either is not
// there exactly once: the files are part of the binary, so that is a build
// mistake that every test run reports.
func composeScript(entry string) string {
	lib := mustEmbedded("lib.sh")
	// One more than MaxFileSize, so that an oversized file is detectable
	// from its truncated content.
	lib = replaceOnce("lib.sh", lib, maxReadBytesVar, strconv.Itoa(MaxFileSize+1))
	return withoutComments(replaceOnce(entry, mustEmbedded(entry), sourceLib, lib))
}

// withoutComments drops the lines that hold only a comment or nothing.
func withoutComments(script string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(script, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func mustEmbedded(name string) string {
	b, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func replaceOnce(name, s, old, repl string) string {
	if n := strings.Count(s, old); n != 1 {
		panic(fmt.Sprintf("yama: scripts/%s holds %q %d times, want once", name, old, n))
	}
	return strings.Replace(s, old, repl, 1)
}

// readInput builds the stdin of readScript (lines B, R, F of lib.sh).
func readInput(boundary, root, file string) []byte {
	return []byte(boundary + "\n" + root + "\n" + file + "\n")
}

// applyInput builds the stdin of applyScript (B, R, F, then V, X, W and
// the P, A, M, C lines of apply.sh).
func applyInput(boundary, root string, c Change) []byte {
	var b strings.Builder
	b.WriteString(boundary + "\n" + root + "\n" + c.File + "\n")
	if c.Runtime != nil {
		b.WriteString(c.Runtime.String() + "\n")
	} else {
		b.WriteString("-\n")
	}
	wait := int(LockWait / time.Second)
	if wait < 0 {
		wait = 0
	}
	b.WriteString(c.Original.String() + "\n" + strconv.Itoa(wait) + "\n")
	for _, op := range c.Files {
		action, content := "write", base64.StdEncoding.EncodeToString(op.Content)
		if op.Remove {
			action, content = "remove", ""
		}
		if content == "" {
			content = "-"
		}
		mode := "-"
		if op.Mode != 0 || op.Owner != "" {
			perm, owner := op.Mode, op.Owner
			if perm == 0 {
				perm = 0o644
			}
			if owner == "" {
				owner = "0:0"
			}
			mode = fmt.Sprintf("%04o %s", perm, owner)
		}
		b.WriteString(op.Path + "\n" + action + "\n" + mode + "\n" + content + "\n")
	}
	return []byte(b.String())
}
