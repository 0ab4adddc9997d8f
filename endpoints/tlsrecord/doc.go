// Package tlsrecord is TLS's record layer for connections whose handshake
// crypto/tls did off the loop: it seals and opens TLS 1.2 and 1.3
// application-data records (AES-GCM, ChaCha20-Poly1305) with the keys
// derived from a handshake's Secrets, on the loop, without allocating per
// record. It never parses a handshake; it only meets handshake messages
// after one (session tickets, key updates, renegotiation attempts).
//
// New derives a Conn's keys (RFC 8446 §7.1 and §7.3; RFC 5246 §6.3 with
// RFC 5288's and RFC 7905's nonces). Conn.Open takes wire bytes as they
// are read and returns plaintext, keeping at most one cut record and one
// post-handshake message between calls; Conn.Seal and Conn.CloseNotify
// append records. Open refuses with an *Error whose Reason mirrors the
// project's contract.SecureReason names (this package imports nothing of
// the project), and returns ErrClosed after the peer's close_notify.
//
// Limits: a record header announcing more than 2^14+256 bytes is refused
// from its header; a post-handshake message of more than 2^16 bytes from
// its header; more than 32 records in a row without application data
// (empty records, user_canceled alerts, tickets, key updates) are a flood.
// The last sequence number, 2^64-1, is never used: Seal and Open fail.
package tlsrecord
