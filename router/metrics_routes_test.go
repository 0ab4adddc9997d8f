package router

import (
	"strings"
	"testing"
)

// Route figures appear in /metrics under stable names, one series per
// route (and reason), the route's name its label.
func TestWriteMetricsHasRouteSeries(t *testing.T) {
	var b strings.Builder
	WriteMetrics(&b, Stats{Engine: "epoll", Routes: []RouteStats{{
		Name: `fanout "feed"->subs`, Offered: 7,
		Drops: map[string]uint64{"hwm": 2, "disconnect": 0},
		Lost:  map[string]uint64{"no_route": 1},
	}}})
	for _, want := range []string{
		"# TYPE pxroute_route_offered_messages_total counter\n",
		`pxroute_route_offered_messages_total{route="fanout \"feed\"->subs"} 7` + "\n",
		`pxroute_route_dropped_messages_total{route="fanout \"feed\"->subs",reason="disconnect"} 0` + "\n",
		`pxroute_route_dropped_messages_total{route="fanout \"feed\"->subs",reason="hwm"} 2` + "\n",
		`pxroute_route_lost_messages_total{route="fanout \"feed\"->subs",reason="no_route"} 1` + "\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}
