// Package contract holds the terms between an endpoint and the machine that
// runs it: what each side may expect of the other, stated once.
//
// The endpoints package makes endpoints and framings; the opcodes package
// runs them. Neither imports the other: both import contract, which says
//
//   - how an endpoint comes to have descriptors (Role, Endpoint: listen,
//     connect or open, and release);
//   - how bytes become messages (Framing, and the capabilities a framing
//     may add: Datagrams, Capped, Sizer, Resumer, Multipart; Gated, which
//     refuses a message at delivery from what it learnt at run time; Lossy
//     and Addressed, figures it alone knows);
//   - what a protocol says besides messages (Sessioned, Session, Ticker,
//     Sealer and SealUndoer, Securer and its Transport (KernelRecords when
//     the kernel seals: kernel TLS), Counted);
//   - everything else the machine needs to know of an endpoint, as one
//     value per endpoint (Settings: limits, timeouts, Admission, Policy,
//     ReplyLimits, Backoff), indexed by endpoint id in a table the machine
//     reads; never a method call per connection;
//   - the single validator of each setting a topology may write in two
//     places (on an endpoint and on a route: high_water, high_water_msgs,
//     overflow), so that both places accept and refuse the same values in
//     the same words.
//
// contract is a leaf: it imports only the standard library and
// golang.org/x/sys/unix.
package contract
