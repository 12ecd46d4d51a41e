package main

import (
	"sync/atomic"
	"testing"
	"time"
)

// The provider exits once its parent (terraform) has gone, and not before.
func TestExitWhenOrphaned(t *testing.T) {
	var ppid atomic.Int64
	ppid.Store(4242)
	exited := make(chan int, 1)
	exitWhenOrphaned(func() int { return int(ppid.Load()) }, time.Millisecond, time.Millisecond, func(code int) { exited <- code })
	select {
	case <-exited:
		t.Fatal("exited while terraform was still there")
	case <-time.After(50 * time.Millisecond):
	}
	ppid.Store(1) // terraform died: the kernel reparented us
	select {
	case code := <-exited:
		if code == 0 {
			t.Errorf("exit code 0 for an abandoned provider")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5s after terraform went")
	}

	// Started by init (or where there is no parent to watch): no watch.
	exitWhenOrphaned(func() int { return 1 }, time.Millisecond, time.Millisecond, func(int) { t.Error("exited without a parent to watch") })
	time.Sleep(20 * time.Millisecond)
}
