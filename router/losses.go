package router

import (
	"log/slog"

	"github.com/pxroute/pxroute/opcodes"
)

// Losses sums what a run lost: messages dropped for any reason (at a
// destination, or lost at their source), and
// connections lost to an error (a refused connect among them). A run that
// ended by itself with either did not do all it was asked to.
func Losses(s Stats) (dropped, failed uint64) {
	for _, e := range s.Endpoints {
		for reason, n := range e.Drops {
			dropped += n + e.Lost[reason]
		}
		failed += e.Errors
	}
	return dropped, failed
}

// logLosses writes one warn line per endpoint that dropped messages, with
// its drops by reason (those lost at it as a source prefixed lost_), so
// that a loss is never only a figure in a summary.
func logLosses(log *slog.Logger, s Stats) {
	for _, e := range s.Endpoints {
		var total uint64
		for reason, n := range e.Drops {
			total += n + e.Lost[reason]
		}
		if total == 0 {
			continue
		}
		args := []any{"endpoint", e.Name, "dropped", total}
		for d := range opcodes.NumDrops {
			if n := e.Drops[d.String()]; n > 0 {
				args = append(args, d.String(), n)
			}
		}
		for d := range opcodes.NumDrops {
			if n := e.Lost[d.String()]; n > 0 {
				args = append(args, "lost_"+d.String(), n)
			}
		}
		log.Warn("messages lost", args...)
	}
}
