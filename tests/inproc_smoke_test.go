package tests

import (
	"bufio"
	"context"
	"fmt"
	"testing"
	"time"
)

func TestInprocSmoke(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  feed: {kind: inproc}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  back: {kind: inproc}
routes:
  - {pattern: fanout, from: feed, to: [subs, back]}
`)
			sub := dial(t, r.Addr("subs"))
			back, err := r.Inproc("back").Attach()
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == 1 && endpoint(r.Stats(), "back").Active == 1 })
			pub, err := r.Inproc("feed").Attach()
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			for i := range 1000 {
				if err := pub.Send(ctx, []byte(fmt.Sprintf("m%d", i)), []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			br := bufio.NewReader(steady(sub))
			got := readLines(t, br, 1000)
			if got[0] != "m0x" || got[999] != "m999x" {
				t.Fatalf("tcp got %q ... %q", got[0], got[999])
			}
			for i := range 1000 {
				m, err := back.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(m) != 2 || string(m[0]) != fmt.Sprintf("m%d", i) || string(m[1]) != "x" {
					t.Fatalf("inproc got %q", m)
				}
			}
			_ = time.Second
		})
	}
}
