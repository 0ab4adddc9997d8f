package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/pxroute/pxroute/router"
)

// In-process fan-out (issue 19): one Go publisher, subscribers in the
// same process, 64-byte messages, each subscriber receiving every one.
// The same three drivers serve the bench scenario (scenario_inproc.go)
// and BenchmarkInprocFanout (inproc_bench_test.go).

const inprocPayload = 64

// inprocFanout is one way of fanning out in process. publish sends n
// messages and returns once every subscriber has received all n, or
// fails when deliveries stop short (a drop or a stall) by its deadline.
type inprocFanout interface {
	publish(ctx context.Context, n int) error
	// drops counts messages lost on the way since the start, by any
	// subscriber: the comparison is delivery for delivery.
	drops() (uint64, error)
	close()
}

// inprocTimeout bounds one publish: a stall fails, it never hangs.
const inprocTimeout = 2 * time.Minute

// ---- pxroute: inproc endpoints, a block fan-out ----

type pxrouteFanout struct {
	r    *router.Router
	pub  *router.InprocConn
	subs []*router.InprocConn
}

// inprocTopology blocks rather than drops, so that pxroute, like the
// channels, delivers every message to every subscriber.
const inprocTopology = `
endpoints:
  feed: {kind: inproc}
  subs: {kind: inproc, high_water: 1MiB, overflow: block}
routes:
  - {pattern: fanout, from: feed, to: subs}
`

func newPxrouteFanout(engine string, loops, subs int) (_ *pxrouteFanout, err error) {
	r, err := router.LoadBytes("inproc-fanout.yaml", []byte(inprocTopology),
		router.Options{Loops: loops, Engine: engine, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if err := r.Start(context.Background()); err != nil {
		return nil, err
	}
	f := &pxrouteFanout{r: r}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	for range subs {
		c, err := r.Inproc("subs").Attach()
		if err != nil {
			return nil, err
		}
		f.subs = append(f.subs, c)
	}
	// Every subscriber accepted before the first message, or it misses some.
	deadline := time.Now().Add(inprocTimeout)
	for f.endpoint("subs").Active < int64(subs) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d subscribers accepted", f.endpoint("subs").Active, subs)
		}
		time.Sleep(time.Millisecond)
	}
	if f.pub, err = r.Inproc("feed").Attach(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *pxrouteFanout) endpoint(name string) router.EndpointStats {
	for _, e := range f.r.Stats().Endpoints {
		if e.Name == name {
			return e
		}
	}
	return router.EndpointStats{}
}

func (f *pxrouteFanout) publish(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, inprocTimeout)
	defer cancel()
	return fanoutRound(len(f.subs), func(i int) error {
		for range n {
			if _, err := f.subs[i].Recv(ctx); err != nil {
				return err
			}
		}
		return nil
	}, func() error {
		msg := make([]byte, inprocPayload)
		for range n {
			if err := f.pub.Send(ctx, msg); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *pxrouteFanout) drops() (uint64, error) {
	var n uint64
	for _, e := range f.r.Stats().Endpoints {
		for _, d := range e.Drops {
			n += d
		}
		for _, l := range e.Lost {
			n += l
		}
	}
	return n, nil
}

func (f *pxrouteFanout) close() {
	if f.pub != nil {
		f.pub.Close()
	}
	for _, c := range f.subs {
		c.Close()
	}
	f.r.Stop()
}

// ---- NATS: an embedded nats-server, nats.go connected in process ----

// natsFanout is what a NATS user writes for independent subscribers: a
// connection each, an async subscription each, with the pending limits
// lifted on both sides so that a slow consumer is counted, not expected.
type natsFanout struct {
	ns    *server.Server
	pub   *nats.Conn
	conns []*nats.Conn
	subs  []*nats.Subscription
	got   []paddedCount
	want  atomic.Int64 // deliveries each subscriber reaches at the round's end
	done  sync.WaitGroup
}

// paddedCount keeps each subscriber's counter on its own cache line.
type paddedCount struct {
	n atomic.Int64
	_ [56]byte
}

const natsSubject = "feed"

func newNatsFanout(subs int) (_ *natsFanout, err error) {
	ns, err := server.NewServer(&server.Options{
		DontListen:    true,
		NoLog:         true,
		NoSigs:        true,
		MaxPending:    1 << 30, // bytes a subscriber's connection may lag: not the limit here
		WriteDeadline: inprocTimeout,
	})
	if err != nil {
		return nil, err
	}
	ns.Start()
	f := &natsFanout{ns: ns, got: make([]paddedCount, subs)}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	if !ns.ReadyForConnections(10 * time.Second) {
		return nil, errors.New("nats-server not ready")
	}
	// Drops are counted by Dropped; the default handler prints each one.
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	for i := range subs {
		nc, err := nats.Connect("", nats.InProcessServer(ns), quiet)
		if err != nil {
			return nil, err
		}
		f.conns = append(f.conns, nc)
		s, err := nc.Subscribe(natsSubject, func(*nats.Msg) {
			if f.got[i].n.Add(1) == f.want.Load() {
				f.done.Done()
			}
		})
		if err != nil {
			return nil, err
		}
		if err := s.SetPendingLimits(-1, -1); err != nil {
			return nil, err
		}
		f.subs = append(f.subs, s)
		if err := nc.Flush(); err != nil { // the server has the subscription
			return nil, err
		}
	}
	if f.pub, err = nats.Connect("", nats.InProcessServer(ns), quiet); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *natsFanout) publish(ctx context.Context, n int) error {
	f.want.Add(int64(n)) // no message is in flight between rounds
	f.done.Add(len(f.subs))
	msg := make([]byte, inprocPayload)
	for range n {
		if err := f.pub.Publish(natsSubject, msg); err != nil {
			return err
		}
	}
	if err := f.pub.FlushTimeout(inprocTimeout); err != nil {
		return err
	}
	finished := make(chan struct{})
	go func() { f.done.Wait(); close(finished) }()
	// A subscriber that lost a message never reaches want: say so as soon
	// as a drop is counted rather than at the deadline.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(inprocTimeout)
wait:
	for {
		select {
		case <-finished:
			return nil
		case <-tick.C:
			if d, err := f.drops(); err != nil || d > 0 {
				break wait
			}
		case <-deadline:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	short := 0
	for i := range f.got {
		if f.got[i].n.Load() < f.want.Load() {
			short++
		}
	}
	d, _ := f.drops()
	return fmt.Errorf("%d of %d subscribers did not get all %d messages (%d dropped)", short, len(f.subs), n, d)
}

// drops is the messages the subscriptions dropped as slow consumers,
// plus one for each subscriber the server cut off as one (it lost at
// least that).
func (f *natsFanout) drops() (uint64, error) {
	var n uint64
	for _, s := range f.subs {
		d, err := s.Dropped()
		if err != nil {
			return 0, err
		}
		n += uint64(d)
	}
	return n + uint64(f.ns.NumSlowConsumers()), nil
}

func (f *natsFanout) close() {
	if f.pub != nil {
		f.pub.Close()
	}
	for _, c := range f.conns {
		c.Close()
	}
	f.ns.Shutdown()
	f.ns.WaitForShutdown()
}

// ---- Go channels: a buffered channel per subscriber ----

type chanFanout struct{ chans []chan []byte }

func newChanFanout(subs int) *chanFanout {
	f := &chanFanout{chans: make([]chan []byte, subs)}
	for i := range f.chans {
		f.chans[i] = make(chan []byte, 1024)
	}
	return f
}

func (f *chanFanout) publish(ctx context.Context, n int) error {
	return fanoutRound(len(f.chans), func(i int) error {
		for range n {
			<-f.chans[i]
		}
		return nil
	}, func() error {
		msg := make([]byte, inprocPayload)
		for range n {
			for _, ch := range f.chans {
				ch <- msg
			}
		}
		return nil
	})
}

func (f *chanFanout) drops() (uint64, error) { return 0, nil }
func (f *chanFanout) close()                 {}

// fanoutRound runs sub(i) for each subscriber on a goroutine of its own
// and pub on the caller's, and returns the first error once all are done.
func fanoutRound(subs int, sub func(i int) error, pub func() error) error {
	errs := make(chan error, subs+1)
	var wg sync.WaitGroup
	for i := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sub(i); err != nil {
				errs <- fmt.Errorf("subscriber %d: %w", i, err)
			}
		}()
	}
	if err := pub(); err != nil {
		errs <- fmt.Errorf("publisher: %w", err)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
