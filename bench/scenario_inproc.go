package main

import (
	"context"
	"fmt"
	"time"
)

// inprocSubscribers is issue 19's number of Go subscribers.
const inprocSubscribers = 100

// inprocScenario is issue 19's in-process fan-out: everything in this
// process (inproc_fanout.go), so no contender has processes of its own
// and the CPU column is empty. "pxroute" runs one loop: a block fan-out
// keeps its subscribers on one loop anyway, and the Go side needs the
// other core; "pxroute (2 loops)" shows what a second loop costs.
func inprocScenario() scenario {
	run := func(build func(cfg config) (inprocFanout, error)) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			f, err := build(cfg)
			if err != nil {
				return 0, err
			}
			defer f.close()
			return inprocRate(cfg, f)
		}
	}
	return scenario{
		name:  "inproc-fanout",
		title: fmt.Sprintf("In-process fan-out: 1 Go publisher, %d Go subscribers, 64-byte messages", inprocSubscribers),
		unit:  "messages/s delivered",
		contenders: []contender{
			{"pxroute", "", run(func(cfg config) (inprocFanout, error) {
				return newPxrouteFanout(cfg.engine, 1, inprocSubscribers)
			})},
			{"pxroute (2 loops)", "", run(func(cfg config) (inprocFanout, error) {
				return newPxrouteFanout(cfg.engine, 2, inprocSubscribers)
			})},
			{"nats-server embedded", "", run(func(config) (inprocFanout, error) { return newNatsFanout(inprocSubscribers) })},
			{"Go channels", "", run(func(config) (inprocFanout, error) { return newChanFanout(inprocSubscribers), nil })},
		},
		target: "pxroute ≥ 5 × nats-server embedded, ≥ 0.5 × Go channels",
		check: func(res map[string]float64) (bool, string) {
			a, how1 := ratioAtLeast(5, "nats-server embedded")(res)
			b, how2 := ratioAtLeast(0.5, "Go channels")(res)
			return a && b, how1 + ", " + how2
		},
	}
}

// inprocRate warms f up with rounds of doubling size until one takes a
// tenth of the measured time, then publishes as many messages as should
// take the measured time and returns the deliveries per second; a drop
// fails the run.
func inprocRate(cfg config, f inprocFanout) (float64, error) {
	ctx := context.Background()
	measure := cfg.dur(2 * time.Second)
	n, took := 256, time.Duration(0)
	for took < measure/10 {
		n *= 2
		t0 := time.Now()
		if err := f.publish(ctx, n); err != nil {
			return 0, err
		}
		took = time.Since(t0)
	}
	n = int(float64(n) * float64(measure) / float64(took))
	t0 := time.Now()
	if err := f.publish(ctx, n); err != nil {
		return 0, err
	}
	took = time.Since(t0)
	if d, err := f.drops(); err != nil || d != 0 {
		return 0, fmt.Errorf("%d messages dropped (%v): the comparison is delivery for delivery", d, err)
	}
	return float64(n) * inprocSubscribers / took.Seconds(), nil
}
