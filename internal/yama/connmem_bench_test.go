package yama_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// BenchmarkOpenConnectionMemory: what one pooled, idle connection holds in
// the provider (heap after GC, goroutine stacks), from 50 connections to
// 50 sandbox hosts. Reported as heap-B/conn, stack-B/conn, goroutines/conn.
func BenchmarkOpenConnectionMemory(b *testing.B) {
	if err := testhost.Available(); err != nil {
		b.Skip(err)
	}
	const n = 50
	e := testhost.NewTestEnv(b)
	hosts := make([]*testhost.Host, n)
	for i := range hosts {
		h, err := e.Start(testhost.Options{Scope: "1"})
		if err != nil {
			b.Fatal(err)
		}
		hosts[i] = h
	}
	for b.Loop() {
		pool := sshclient.NewPool()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		for _, h := range hosts {
			hh, err := pool.Host(sshclient.Config{Host: h.Addr, Port: h.Port, PrivateKey: e.ClientKeyPEM(), KnownHostsFile: e.KnownHostsPath()})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := hh.Run(context.Background(), "cat /proc/sys/kernel/yama/ptrace_scope", nil, false); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		g1 := runtime.NumGoroutine()
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n, "heap-B/conn")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/n, "stack-B/conn")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/conn")
		_ = pool.Close()
	}
}
