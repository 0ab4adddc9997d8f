package tlsrecord

// Secrets are what a finished crypto/tls handshake leaves for the record
// layer: the version and cipher suite agreed, which side this is, and the
// traffic secrets (TLS 1.3) or the master secret and both randoms (TLS
// 1.2), as crypto/tls reports them through Config.KeyLogWriter (the NSS
// key log format) and its handshake messages.
type Secrets struct {
	Version  uint16 // tls.VersionTLS12 or tls.VersionTLS13
	Suite    uint16 // a tls.TLS_* cipher suite id (AEAD suites only)
	IsClient bool   // this side sent the ClientHello

	// TLS 1.3: CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0.
	ClientTrafficSecret, ServerTrafficSecret []byte

	// TLS 1.2: the master secret (CLIENT_RANDOM's) and both hellos'
	// randoms, 32 bytes each.
	MasterSecret, ClientRandom, ServerRandom []byte

	// The sequence numbers of the first application-data records each way
	// (TLS 1.2: 1 after the Finished each side sent under the new keys;
	// TLS 1.3: 0, when the server sent no session ticket under the
	// application keys during the handshake).
	ReadSeq, WriteSeq uint64
}
