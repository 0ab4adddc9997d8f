package endpoints

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

// CURVE (RFC 25, CurveZMQ RFC 26). Long-term keys: the server's S/s, the
// client's C/c; each connection makes short-term ones (S'/s', C'/c').
//
//	C: HELLO    version, padding, C', short nonce, Box[64 zeros](C'->S)
//	S: WELCOME  long nonce, Box[S' + cookie](S->C')
//	C: INITIATE cookie, short nonce, Box[C + vouch + metadata](C'->S')
//	S: READY    short nonce, Box[metadata](S'->C')
//
// then every frame both ways is a MESSAGE box (zmtp_curve_box.go). HELLO
// is padded to 200 bytes so that the server's 168-byte WELCOME never
// amplifies a forged source. The cookie, Box[C' + s'] under a key that
// changes each minute, lets the server check that INITIATE answers its
// own WELCOME.

const (
	curveHelloData    = 194 // HELLO's body less its name: 200 bytes in all
	curveWelcomeData  = 160 // WELCOME's: 168 in all
	curveInitiateData = 248 // INITIATE's least: 257 in all, without metadata
	curveCookieLen    = 96  // 16-byte nonce and Box[C' + s'] of 80
)

// curveNonce is a full 24-byte nonce: a 16-byte prefix and a short
// (counter) nonce, or an 8-byte prefix and 16 random bytes.
func curveNonce(prefix string, short uint64) *[24]byte {
	var n [24]byte
	copy(n[:], prefix)
	binary.BigEndian.PutUint64(n[16:], short)
	return &n
}

func curveLongNonce(prefix string, random []byte) *[24]byte {
	var n [24]byte
	copy(n[:], prefix)
	copy(n[8:], random)
	return &n
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("endpoints: crypto/rand: " + err.Error()) // never fails on Linux
	}
	return b
}

// zmtpCookieKeys is an endpoint's cookie key, a new one each minute; a
// cookie made with the last minute's still opens, so a handshake that
// spans the turn of a minute completes. Shared by the endpoint's loops.
type zmtpCookieKeys struct {
	mu        sync.Mutex
	minute    int64
	cur, prev [32]byte
}

func (k *zmtpCookieKeys) keys(now time.Time) (cur, prev [32]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := now.Unix() / 60
	if m != k.minute {
		if m == k.minute+1 {
			k.prev = k.cur
		} else {
			copy(k.prev[:], randomBytes(32))
		}
		copy(k.cur[:], randomBytes(32))
		k.minute = m
	}
	return k.cur, k.prev
}

// zmtpCurveServer is the server's side of one connection's handshake.
type zmtpCurveServer struct {
	cfg      *zmtpCurveConfig
	state    uint8 // 0: want HELLO; 1: want INITIATE
	cnClient [32]byte
	cnPub    *[32]byte
	cnSec    *[32]byte
	box      zmtpCurveBox
}

func (*zmtpCurveServer) name() string   { return "CURVE" }
func (*zmtpCurveServer) asServer() bool { return true }

func (*zmtpCurveServer) start(out []byte, _ []zmtpProp) []byte { return out }

func (m *zmtpCurveServer) command(cmd zmtpCmd, out []byte, props []zmtpProp) ([]byte, map[string]string, bool, error) {
	switch {
	case cmd.name == "HELLO" && m.state == 0:
		out, err := m.hello(cmd.data, out)
		m.state = 1
		return out, nil, false, err
	case cmd.name == "INITIATE" && m.state == 1:
		return m.initiate(cmd.data, out, props)
	}
	return out, nil, false, fmt.Errorf("zmtp: %q command out of place in a CURVE handshake", cmd.name)
}

// hello opens the client's HELLO (which only the holder of s can) and
// answers WELCOME.
func (m *zmtpCurveServer) hello(d, out []byte) ([]byte, error) {
	if len(d) != curveHelloData {
		return out, fmt.Errorf("zmtp: CURVE HELLO of %d bytes, want 200", len(d)+6)
	}
	if d[0] != 1 || d[1] != 0 {
		return out, fmt.Errorf("zmtp: CURVE HELLO of version %d.%d, want 1.0", d[0], d[1])
	}
	copy(m.cnClient[:], d[74:106])
	short := binary.BigEndian.Uint64(d[106:114])
	var scratch [64]byte
	if _, ok := box.Open(scratch[:0], d[114:194], curveNonce("CurveZMQHELLO---", short), &m.cnClient, &m.cfg.secret); !ok {
		return out, errors.New("zmtp: cannot open the client's CURVE HELLO: it does not know this server's public key (wrong server key?)")
	}
	var err error
	if m.cnPub, m.cnSec, err = box.GenerateKey(rand.Reader); err != nil {
		return out, err
	}
	cur, _ := m.cfg.cookies.keys(time.Now())
	cookieNonce := randomBytes(16)
	cookie := secretbox.Seal(nil, append(m.cnClient[:], m.cnSec[:]...), curveLongNonce("COOKIE--", cookieNonce), &cur)
	plain := append(append(append(make([]byte, 0, 128), m.cnPub[:]...), cookieNonce...), cookie...)
	welcomeNonce := randomBytes(16)
	sealed := box.Seal(nil, plain, curveLongNonce("WELCOME-", welcomeNonce), &m.cnClient, &m.cfg.secret)
	return appendZMTPCmd(out, "WELCOME", welcomeNonce, sealed), nil
}

// initiate checks the cookie, the client's vouch for its short-term key,
// and answers READY; the connection is then established.
func (m *zmtpCurveServer) initiate(d, out []byte, props []zmtpProp) ([]byte, map[string]string, bool, error) {
	if len(d) < curveInitiateData {
		return out, nil, false, fmt.Errorf("zmtp: CURVE INITIATE of %d bytes, want 257 or more", len(d)+9)
	}
	var cookie [64]byte
	cur, prev := m.cfg.cookies.keys(time.Now())
	cn := curveLongNonce("COOKIE--", d[:16])
	c, ok := secretbox.Open(cookie[:0], d[16:96], cn, &cur)
	if !ok {
		c, ok = secretbox.Open(cookie[:0], d[16:96], cn, &prev)
	}
	if !ok || subtle.ConstantTimeCompare(c[:32], m.cnClient[:]) != 1 || subtle.ConstantTimeCompare(c[32:], m.cnSec[:]) != 1 {
		return out, nil, false, errors.New("zmtp: CURVE INITIATE with a cookie this server did not make (expired, or forged)")
	}
	short := binary.BigEndian.Uint64(d[96:104])
	var shared [32]byte
	box.Precompute(&shared, &m.cnClient, m.cnSec)
	plain, ok := box.OpenAfterPrecomputation(nil, d[104:], curveNonce("CurveZMQINITIATE", short), &shared)
	if !ok || len(plain) < 128 {
		return out, nil, false, errors.New("zmtp: cannot open the client's CURVE INITIATE")
	}
	var client [32]byte
	copy(client[:], plain[:32])
	var vouch [64]byte
	v, ok := box.Open(vouch[:0], plain[48:128], curveLongNonce("VOUCH---", plain[32:48]), &client, m.cnSec)
	if !ok || subtle.ConstantTimeCompare(v[:32], m.cnClient[:]) != 1 || subtle.ConstantTimeCompare(v[32:], m.cfg.public[:]) != 1 {
		return out, nil, false, errors.New("zmtp: the client's CURVE vouch does not hold: its short-term key is not its own")
	}
	peer, err := parseZMTPProps(plain[128:])
	if err != nil {
		return out, nil, false, err
	}
	m.box = newZMTPCurveBox(shared, true, short)
	nonce := m.box.next()
	ready := box.SealAfterPrecomputation(nil, appendZMTPProps(nil, props...), curveNonce("CurveZMQREADY---", nonce), &shared)
	var n8 [8]byte
	binary.BigEndian.PutUint64(n8[:], nonce)
	return appendZMTPCmd(out, "READY", n8[:], ready), peer, true, nil
}

// zmtpCurveClient is the client's side of one connection's handshake.
type zmtpCurveClient struct {
	cfg   *zmtpCurveConfig
	state uint8 // 0: want WELCOME; 1: want READY
	cnPub *[32]byte
	cnSec *[32]byte
	box   zmtpCurveBox
}

func (*zmtpCurveClient) name() string   { return "CURVE" }
func (*zmtpCurveClient) asServer() bool { return false }

// start sends HELLO, from a new short-term key pair.
func (m *zmtpCurveClient) start(out []byte, _ []zmtpProp) []byte {
	var err error
	if m.cnPub, m.cnSec, err = box.GenerateKey(rand.Reader); err != nil {
		panic("endpoints: crypto/rand: " + err.Error())
	}
	var zeros [64]byte
	nonce := m.box.next()
	sig := box.Seal(nil, zeros[:], curveNonce("CurveZMQHELLO---", nonce), &m.cfg.serverKey, m.cnSec)
	var n8 [8]byte
	binary.BigEndian.PutUint64(n8[:], nonce)
	return appendZMTPCmd(out, "HELLO", []byte{1, 0}, make([]byte, 72), m.cnPub[:], n8[:], sig)
}

func (m *zmtpCurveClient) command(cmd zmtpCmd, out []byte, props []zmtpProp) ([]byte, map[string]string, bool, error) {
	switch {
	case cmd.name == "WELCOME" && m.state == 0:
		out, err := m.welcome(cmd.data, out, props)
		m.state = 1
		return out, nil, false, err
	case cmd.name == "READY" && m.state == 1:
		d := cmd.data
		if len(d) < 8+box.Overhead {
			return out, nil, false, fmt.Errorf("zmtp: CURVE READY of %d bytes, too short", len(d)+6)
		}
		short := binary.BigEndian.Uint64(d[:8])
		plain, ok := box.OpenAfterPrecomputation(nil, d[8:], curveNonce("CurveZMQREADY---", short), &m.box.shared)
		if !ok {
			return out, nil, false, errors.New("zmtp: cannot open the server's CURVE READY")
		}
		peer, err := parseZMTPProps(plain)
		m.box.peer = short
		return out, peer, err == nil, err
	}
	return out, nil, false, fmt.Errorf("zmtp: %q command out of place in a CURVE handshake", cmd.name)
}

// welcome opens WELCOME, which only the holder of the server's secret key
// made, and answers INITIATE with our vouch and metadata.
func (m *zmtpCurveClient) welcome(d, out []byte, props []zmtpProp) ([]byte, error) {
	if len(d) != curveWelcomeData {
		return out, fmt.Errorf("zmtp: CURVE WELCOME of %d bytes, want 168", len(d)+8)
	}
	plain, ok := box.Open(nil, d[16:], curveLongNonce("WELCOME-", d[:16]), &m.cfg.serverKey, m.cnSec)
	if !ok {
		return out, errors.New("zmtp: cannot open the server's CURVE WELCOME: server_key is not this server's")
	}
	var cnServer [32]byte
	copy(cnServer[:], plain[:32])
	cookie := plain[32:128]
	box.Precompute(&m.box.shared, &cnServer, m.cnSec)
	vouchNonce := randomBytes(16)
	vouch := box.Seal(nil, append(m.cnPub[:], m.cfg.serverKey[:]...), curveLongNonce("VOUCH---", vouchNonce), &cnServer, &m.cfg.secret)
	inner := append(append(append(m.cfg.public[:0:0], m.cfg.public[:]...), vouchNonce...), vouch...)
	inner = appendZMTPProps(inner, props...)
	nonce := m.box.next()
	sealed := box.SealAfterPrecomputation(nil, inner, curveNonce("CurveZMQINITIATE", nonce), &m.box.shared)
	var n8 [8]byte
	binary.BigEndian.PutUint64(n8[:], nonce)
	return appendZMTPCmd(out, "INITIATE", cookie, n8[:], sealed), nil
}
