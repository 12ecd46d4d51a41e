package sshclient

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
)

// MaxOutput bounds what one command may print, stdout and stderr together.
// The provider's scripts print a few KiB (at most 64 KiB per sysctl file);
// a host that sends more (a login file printing junk, say) has the command
// stopped with ErrOutputLimit, and memory stays bounded however much it
// sends: past the bound, output is discarded as it arrives.
const MaxOutput = 8 << 20

// outputBudget counts the bytes of one command's stdout and stderr.
type outputBudget struct {
	used atomic.Int64
	once sync.Once
	over chan struct{} // closed when the budget is exceeded
}

func newOutputBudget() *outputBudget { return &outputBudget{over: make(chan struct{})} }

// take accounts for n more bytes; false means they are over the budget
// and must be dropped.
func (b *outputBudget) take(n int) bool {
	if b.used.Add(int64(n)) <= MaxOutput {
		return true
	}
	b.once.Do(func() { close(b.over) })
	return false
}

func (b *outputBudget) exceeded() bool {
	select {
	case <-b.over:
		return true
	default:
		return false
	}
}

func errOutputLimit() error {
	return fmt.Errorf("%w: more than %d MiB on stdout and stderr together", ErrOutputLimit, MaxOutput>>20)
}

// appendBounded appends p to b, growing b at most to MaxOutput bytes of
// capacity (the budget guarantees len(b)+len(p) fits), so a full buffer
// never holds twice the bound as append's doubling would.
func appendBounded(b, p []byte) []byte {
	if need := len(b) + len(p); need > cap(b) {
		n := min(max(2*cap(b), need, 4096), max(MaxOutput, need))
		nb := make([]byte, len(b), n)
		copy(nb, b)
		b = nb
	}
	return append(b, p...)
}

// cappedBuffer collects stdout within the command's budget.
type cappedBuffer struct {
	mu     sync.Mutex
	buf    []byte
	budget *outputBudget
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.budget.take(len(p)) {
		c.buf = appendBounded(c.buf, p)
	}
	return len(p), nil // never an error: the session keeps draining, Run stops it
}

func (c *cappedBuffer) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf)
}

type event int

const (
	evLogin event = iota
	evPrompt
	evReady
)

// stderrWatcher collects stderr within the command's budget and reports
// our markers as they arrive (they may be split across writes): the login
// marker, then, for sudo runs, sudo's prompt and the ready marker.
type stderrWatcher struct {
	mu       sync.Mutex
	buf      []byte
	budget   *outputBudget
	sudo     *sudoRun
	scanFrom int
	login    bool
	loginAt  int // offset of the login marker in buf
	prompts  int
	ready    bool
	events   chan event
}

var loginLine = []byte(loginMarker + "\n")

func newStderrWatcher(s *sudoRun, budget *outputBudget) *stderrWatcher {
	// Buffer for every event there can be (login, two prompts, ready):
	// sends never block.
	return &stderrWatcher{sudo: s, budget: budget, events: make(chan event, 4)}
}

func (w *stderrWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.budget.take(len(p)) {
		return len(p), nil
	}
	w.buf = appendBounded(w.buf, p)
	w.scan()
	return len(p), nil
}

// scan looks for the next expected marker. Scanning stops once the script
// owns stderr (after login, or after ready for sudo), or after the second
// prompt (the run is being aborted).
func (w *stderrWatcher) scan() {
	for {
		data := w.buf[w.scanFrom:]
		if !w.login {
			i := bytes.Index(data, loginLine)
			if i < 0 {
				w.keepTail(len(loginLine))
				return
			}
			w.login, w.loginAt = true, w.scanFrom+i
			w.scanFrom += i + len(loginLine)
			w.events <- evLogin
			continue
		}
		if w.sudo == nil || w.ready || w.prompts >= 2 {
			return
		}
		i := -1 // sudo -n: no prompt to look for
		if w.sudo.prompt != nil {
			i = bytes.Index(data, w.sudo.prompt)
		}
		j := bytes.Index(data, w.sudo.ready)
		switch {
		case i >= 0 && (j < 0 || i < j):
			w.prompts++
			w.scanFrom += i + len(w.sudo.prompt)
			w.events <- evPrompt
		case j >= 0:
			w.ready = true
			w.scanFrom += j + len(w.sudo.ready)
			w.events <- evReady
		default:
			w.keepTail(max(len(w.sudo.prompt), len(w.sudo.ready)))
			return
		}
	}
}

// keepTail moves scanFrom so that a marker of n bytes split across writes
// is still found.
func (w *stderrWatcher) keepTail(n int) {
	w.scanFrom = max(w.scanFrom, len(w.buf)-(n-1))
}

func (w *stderrWatcher) loginSeen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.login
}

// beforeLogin returns stderr before the login marker: what login files
// printed.
func (w *stderrWatcher) beforeLogin() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.login {
		return bytes.Clone(w.buf)
	}
	return bytes.Clone(w.buf[:w.loginAt])
}

// sinceLogin returns stderr after the login marker: what the command
// printed, without what login files printed before it.
func (w *stderrWatcher) sinceLogin() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.login {
		return nil
	}
	return appendWithout(nil, w.buf[w.loginAt+len(loginLine):], []byte(aliveMarker+"\n"))
}

func (w *stderrWatcher) readySeen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

// result returns stderr without the login marker and the wrapper's
// keepalive lines, and whether the wrapper reported that its input was
// gone. sudo's markers are sudoRun.clean's. It makes one copy of stderr,
// whatever its size (up to MaxOutput).
func (w *stderrWatcher) result() (stderr []byte, lost bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]byte, 0, len(w.buf))
	rest := w.buf
	if w.login {
		out = append(out, w.buf[:w.loginAt]...)
		rest = w.buf[w.loginAt+len(loginLine):]
	}
	out = appendWithout(out, rest, []byte(aliveMarker+"\n"))
	lostLine := []byte(inputLost + "\n")
	if i := bytes.Index(out[min(len(out), w.loginAt):], lostLine); w.login && i >= 0 {
		lost = true
		i += w.loginAt
		out = append(out[:i], out[i+len(lostLine):]...)
	}
	return out, lost
}

// appendWithout appends src to dst without the occurrences of sep.
func appendWithout(dst, src, sep []byte) []byte {
	for {
		i := bytes.Index(src, sep)
		if i < 0 {
			return append(dst, src...)
		}
		dst = append(dst, src[:i]...)
		src = src[i+len(sep):]
	}
}
