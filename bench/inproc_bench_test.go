package main

import (
	"context"
	"runtime"
	"testing"
)

// BenchmarkInprocFanout is issue 19's in-process fan-out: one Go
// publisher, 100 Go subscribers, b.N messages of 64 bytes, every
// subscriber receiving all b.N. allocs/op is per published message;
// allocs/delivery divides by the 100 deliveries each one makes. Run with
// -cpuprofile to see where pxroute's time goes.
func BenchmarkInprocFanout(b *testing.B) {
	const subs = 100
	cases := []struct {
		name string
		make func() (inprocFanout, error)
	}{
		{"pxroute-inproc/loops=1", func() (inprocFanout, error) { return newPxrouteFanout("auto", 1, subs) }},
		{"pxroute-inproc/loops=2", func() (inprocFanout, error) { return newPxrouteFanout("auto", 2, subs) }},
		{"nats-inprocess", func() (inprocFanout, error) { return newNatsFanout(subs) }},
		{"go-channels", func() (inprocFanout, error) { return newChanFanout(subs), nil }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f, err := c.make()
			if err != nil {
				b.Fatal(err)
			}
			defer f.close()
			b.ReportAllocs()
			b.SetBytes(inprocPayload * subs)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			err = f.publish(context.Background(), b.N)
			b.StopTimer()
			runtime.ReadMemStats(&after)
			d, derr := f.drops()
			b.ReportMetric(float64(d), "drops")
			if err != nil || derr != nil || d != 0 {
				b.Fatalf("%d messages dropped (%v, %v): the comparison is delivery for delivery", d, err, derr)
			}
			b.ReportMetric(float64(b.N)*subs/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/(float64(b.N)*subs), "allocs/delivery")
		})
	}
}
