package router

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/endpoints"
)

// framing: zmtp has a Go type, its keys (socket, subscribe, max_parts) its
// fields, built and refused as a file's are; without it a Go program
// could not make a ZeroMQ endpoint but through the map escape hatch.
func TestTypedZMTPFramingBuildsAsItsKeys(t *testing.T) {
	cases := []struct {
		name  string
		typed Endpoint
		keys  map[string]any
	}{
		{"sub-subscribe-max-parts", TCP{Connect: "127.0.0.1:9", Framing: ZMTP{Socket: "sub", Subscribe: []string{"a.", "b."}, MaxParts: 8}},
			map[string]any{"connect": "127.0.0.1:9", "framing": "zmtp", "socket": "sub", "subscribe": []string{"a.", "b."}, "max_parts": 8}},
		{"sub-subscribes-to-nothing", TCP{Connect: "127.0.0.1:9", Framing: ZMTP{Socket: "sub", Subscribe: []string{}}},
			map[string]any{"connect": "127.0.0.1:9", "framing": "zmtp", "socket": "sub", "subscribe": []string{}}},
		{"pull-heartbeats", TCP{Listen: "127.0.0.1:0", Framing: ZMTP{Socket: "pull", HeartbeatInterval: 100 * time.Millisecond,
			HeartbeatTimeout: 300 * time.Millisecond, HeartbeatTTL: time.Second}},
			map[string]any{"listen": "127.0.0.1:0", "framing": "zmtp", "socket": "pull", "heartbeat_interval": "100ms",
				"heartbeat_timeout": "300ms", "heartbeat_ttl": "1s"}},
		{"router-on-unix", Unix{Listen: "@pxroute-zmtp-test", Framing: &ZMTP{Socket: "router"}},
			map[string]any{"listen": "@pxroute-zmtp-test", "framing": "zmtp", "socket": "router"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := newTyped("e", c.typed)
			if err != nil {
				t.Fatalf("typed: %v", err)
			}
			kind := map[bool]string{true: "tcp", false: "unix"}[c.typed.kind() == "tcp"]
			want, err := endpoints.New(kind, c.keys)
			if err != nil {
				t.Fatalf("endpoints.New: %v", err)
			}
			if !reflect.DeepEqual(got.Settings(), want.Settings()) {
				t.Errorf("settings\n got %+v\nwant %+v", got.Settings(), want.Settings())
			}
		})
	}
	bad := []struct {
		name  string
		typed Endpoint
		want  string
	}{
		{"no-socket", TCP{Listen: "127.0.0.1:0", Framing: ZMTP{}}, `Endpoints["e"] (TCP).Framing: framing zmtp needs socket`},
		{"unknown-socket", TCP{Listen: "127.0.0.1:0", Framing: ZMTP{Socket: "sock"}}, `Endpoints["e"] (TCP).Framing.Socket: `},
		{"max-parts", TCP{Listen: "127.0.0.1:0", Framing: ZMTP{Socket: "pull", MaxParts: 1 << 17}}, `Endpoints["e"] (TCP).Framing.MaxParts: max_parts must be between 1 and 65536`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTyped("e", c.typed)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want %s...", err, c.want)
			}
		})
	}
}
