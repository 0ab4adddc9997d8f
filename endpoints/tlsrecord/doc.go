// Package tlsrecord is TLS's record layer for connections whose handshake
// crypto/tls did off the loop: it seals and opens TLS 1.2 and 1.3
// application-data records (AES-GCM, ChaCha20-Poly1305) with the keys
// derived from a handshake's Secrets, on the loop, without allocating per
// record. It never parses a handshake; it only meets handshake messages
// after one (session tickets, key updates, renegotiation attempts).
package tlsrecord
