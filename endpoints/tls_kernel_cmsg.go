package endpoints

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Control messages of kernel TLS: a record's type travels beside its
// plaintext as a one-byte cmsg at SOL_TLS (TLS_SET_RECORD_TYPE on
// sendmsg, TLS_GET_RECORD_TYPE on recvmsg); without one, what is sent is
// application data, and a read of any other record fails with EIO.

// recordTypeCmsg is the control message that sends a record of type typ.
func recordTypeCmsg(typ byte) []byte {
	b := make([]byte, unix.CmsgSpace(1))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = solTLS, tlsSetRecordType
	h.SetLen(unix.CmsgLen(1))
	b[unix.CmsgLen(0)] = typ
	return b
}

// recordType is the record type a recvmsg's control messages carry;
// false when none does (the record was application data).
func recordType(oob []byte) (byte, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == solTLS && m.Header.Type == tlsGetRecordType && len(m.Data) >= 1 {
			return m.Data[0], true
		}
	}
	return 0, false
}

// sendRecord sends content as one record of type typ, without blocking
// the loop: a control record is a few bytes, and a send buffer too full
// for them is reported, not waited on.
func sendRecord(fd int, typ byte, content []byte) error {
	n, err := unix.SendmsgN(fd, content, recordTypeCmsg(typ), nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	switch {
	case err != nil:
		return fmt.Errorf("sendmsg of a record of type %d: %w", typ, err)
	case n != len(content):
		return fmt.Errorf("sendmsg of a record of type %d: %d of %d bytes sent", typ, n, len(content))
	}
	return nil
}
