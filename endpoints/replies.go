package endpoints

import (
	"time"

	"github.com/pxroute/pxroute/contract"
)

// parseReplyLimits reads max_outstanding and reply_timeout, which limit
// the connections of an endpoint that serves a request route as a worker
// (the topology checks that it does).
func parseReplyLimits(p Params, o *contract.Settings) {
	if n, ok := p.Size("max_outstanding"); ok {
		if n < 1 || n > 1<<30 {
			p.Errorf("max_outstanding", "max_outstanding must be at least 1 request")
		} else {
			o.Replies.MaxOutstanding = int(n)
		}
	}
	if d, ok := p.Duration("reply_timeout"); ok {
		if d < time.Millisecond {
			p.Errorf("reply_timeout", "reply_timeout must be at least 1ms")
		} else {
			o.Replies.Timeout = d
		}
	}
}
