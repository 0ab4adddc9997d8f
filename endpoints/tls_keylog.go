package endpoints

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// tlsKeyLog collects the secrets crypto/tls writes through
// Config.KeyLogWriter (NSS key log lines: LABEL client_random secret) for
// one handshake. crypto/tls calls Write once a line, from the handshake's
// goroutine.
type tlsKeyLog struct {
	clientRandom                 []byte
	master, clientApp, serverApp []byte
	err                          error
}

func (l *tlsKeyLog) Write(line []byte) (int, error) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return len(line), nil
	}
	random, err1 := hex.DecodeString(string(f[1]))
	secret, err2 := hex.DecodeString(string(f[2]))
	if err1 != nil || err2 != nil {
		l.err = fmt.Errorf("key log line %q: not hex", f[0])
		return len(line), nil
	}
	l.clientRandom = random
	switch string(f[0]) {
	case "CLIENT_RANDOM":
		l.master = secret
	case "CLIENT_TRAFFIC_SECRET_0":
		l.clientApp = secret
	case "SERVER_TRAFFIC_SECRET_0":
		l.serverApp = secret
	}
	return len(line), nil
}
