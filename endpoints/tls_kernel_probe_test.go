package endpoints

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// TestKernelTLSProbeOnce: however many connections ask at once, the
// kernel is asked once, and its answer, yes or no, is what all of them
// get.
func TestKernelTLSProbeOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer error
	}{
		{"a-no-is-kept", errors.New(`setsockopt TCP_ULP "tls": no such file or directory (CONFIG_TLS unset)`)},
		{"a-yes-is-kept", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			p := &kernelTLSProbe{probe: func() error { calls.Add(1); return tc.answer }}
			var wg sync.WaitGroup
			for range 32 {
				wg.Go(func() {
					if got := p.unavailable(); got != tc.answer {
						t.Errorf("probe said %v, want %v", got, tc.answer)
					}
				})
			}
			wg.Wait()
			if n := calls.Load(); n != 1 {
				t.Fatalf("the kernel was asked %d times, want once", n)
			}
		})
	}
}

// TestKernelTLSProbeHere runs the real probe: whatever this kernel says,
// the answer names the call and, for ENOENT, the missing CONFIG_TLS; and
// it is the same answer the second time without asking again.
func TestKernelTLSProbeHere(t *testing.T) {
	err := KernelTLSUnavailable()
	t.Logf("kernel TLS here: %v", err)
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, `setsockopt TCP_ULP "tls": `) && !strings.HasPrefix(msg, "kernel TLS not probed: ") {
			t.Fatalf("the probe's error %q does not say what was asked", msg)
		}
		if errors.Is(err, unix.ENOENT) != strings.HasSuffix(msg, "(CONFIG_TLS unset)") {
			t.Fatalf("the probe's error %q: ENOENT and the CONFIG_TLS hint go together", msg)
		}
	}
	if again := KernelTLSUnavailable(); again != err {
		t.Fatalf("second answer %v, first %v: not the kept one", again, err)
	}
}

// TestSetULPSaysWhy: attaching the ULP to what is no TCP socket fails,
// and the error names the call and wraps the kernel's errno.
func TestSetULPSaysWhy(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	err = setULP(fds[0])
	var errno unix.Errno
	if err == nil || !strings.HasPrefix(err.Error(), `setsockopt TCP_ULP "tls": `) || !errors.As(err, &errno) {
		t.Fatalf("setULP on a unix socket: %v, want the call named and its errno", err)
	}
}

// TestKernelSuiteKey: a refusal is remembered per version and cipher,
// so one suite the kernel lacks does not keep another from it.
func TestKernelSuiteKey(t *testing.T) {
	k := tlsrecord.Keys{Version: 0x0304, Cipher: tlsrecord.ChaCha20Poly1305, Key: make([]byte, 32), IV: make([]byte, 12)}
	kc, ok := kernelCipherOf(k)
	if !ok {
		t.Fatal("ChaCha20-Poly1305 has no kernel cipher")
	}
	keys := map[uint32]string{}
	for _, c := range []struct {
		name    string
		version uint16
		kc      kernelCipher
	}{
		{"tls13-chacha", 0x0304, kc}, {"tls13-aes128", 0x0304, kernelAESGCM128}, {"tls13-aes256", 0x0304, kernelAESGCM256},
		{"tls12-chacha", 0x0303, kernelChaCha}, {"tls12-aes128", 0x0303, kernelAESGCM128}, {"tls12-aes256", 0x0303, kernelAESGCM256},
	} {
		key := kernelSuiteKey(c.version, c.kc)
		if other, dup := keys[key]; dup {
			t.Fatalf("%s and %s share the refusal key %#x", c.name, other, key)
		}
		keys[key] = c.name
	}
}

// TestRecordTypeCmsg builds the cmsg that sends a record type and reads
// it back as recvmsg's would be read: SOL_TLS, one byte.
func TestRecordTypeCmsg(t *testing.T) {
	for _, typ := range []byte{tlsTypeAlert, tlsTypeHandshake, tlsTypeApplicationData} {
		b := recordTypeCmsg(typ)
		msgs, err := unix.ParseSocketControlMessage(b)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("type %d: %d messages, %v", typ, len(msgs), err)
		}
		h := msgs[0].Header
		if h.Level != unix.SOL_TLS || h.Type != tlsSetRecordType || len(msgs[0].Data) != 1 || msgs[0].Data[0] != typ {
			t.Fatalf("type %d: level %d type %d data %x", typ, h.Level, h.Type, msgs[0].Data)
		}
		// recvmsg's TLS_GET_RECORD_TYPE has the same shape, type 2; the
		// sending type is not taken for it.
		if _, ok := recordType(b); ok {
			t.Fatalf("type %d: TLS_SET_RECORD_TYPE read as a received record type", typ)
		}
		got := append([]byte(nil), b...)
		(*unix.Cmsghdr)(unsafe.Pointer(&got[0])).Type = tlsGetRecordType
		if rt, ok := recordType(got); !ok || rt != typ {
			t.Fatalf("type %d read back as %d, %v", typ, rt, ok)
		}
	}
	if _, ok := recordType(nil); ok {
		t.Fatal("no control message read as a record type")
	}
}
