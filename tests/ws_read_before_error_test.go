package tests

import (
	"bufio"
	"fmt"
	"testing"
	"time"
)

// A message that arrived whole is delivered even when a frame breaking
// the protocol came in the same read: the connection is closed for the
// bad frame (1002), not for what preceded it.
func TestWebSocketMessagesBeforeABadFrameInTheSameReadAreDelivered(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			term := dial(t, r.Addr("term"))
			w := wsDial(t, r.Addr("web"), "/chat")
			waitFor(t, "both members", func() bool {
				return endpoint(r.Stats(), "term").Active == 1 && endpoint(r.Stats(), "web").Active == 1
			})
			both := append(wsFrameBytes(true, 1, []byte("before the bad one"), false), wsFrameBytes(true, 1, []byte("x"), true)...)
			if _, err := w.c.Write(both); err != nil {
				t.Fatal(err)
			}
			if code := w.closeCode(t); code != 1002 {
				t.Fatalf("close %d, want 1002", code)
			}
			term.SetReadDeadline(time.Now().Add(ioTimeout))
			if got, err := bufio.NewReader(term).ReadString('\n'); err != nil || got != "before the bad one\n" {
				t.Fatalf("the TCP member got %q (%v), want the message before the bad frame", got, err)
			}
		})
	}
}
