package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

func TestUnits(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{byteSize(0), "0 B"},
		{byteSize(1023), "1023 B"},
		{byteSize(1536), "1.5 KiB"},
		{byteSize(3 << 20), "3.0 MiB"},
		{byteSize(5 << 30), "5.0 GiB"},
		{byteRate(2048), "2.0 KiB/s"},
		{msgRate(0), "0 msg/s"},
		{msgRate(2.5), "2.5 msg/s"},
		{msgRate(12345), "12345 msg/s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// top's rates carry their units: msg/s, and B/s scaled to KiB/s, MiB/s.
func TestTopShowsUnits(t *testing.T) {
	prev := router.Stats{Engine: "epoll", Endpoints: []router.EndpointStats{{Name: "a"}}}
	now := router.Stats{Engine: "epoll", Endpoints: []router.EndpointStats{{Name: "a", MsgsIn: 100, MsgsOut: 50, BytesIn: 3 << 20, BytesOut: 1536}}}
	var b strings.Builder
	printStats(&b, now, &prev, time.Second)
	for _, want := range []string{"100 msg/s", "50 msg/s", "3.0 MiB/s", "1.5 KiB/s", "msgs in/s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("top lacks %q:\n%s", want, b.String())
		}
	}
}
