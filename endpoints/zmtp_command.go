package endpoints

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ZMTP commands (RFC 23, 37): a COMMAND frame whose body is a name (a
// size byte, then 1 to 255 bytes) and data.

// zmtpCmd is one command as read: both slices alias the frame.
type zmtpCmd struct {
	name string
	data []byte
}

var errZMTPCmdName = errors.New("zmtp: command with an empty or cut name")

// parseZMTPCmd reads a command frame's body.
func parseZMTPCmd(body []byte) (zmtpCmd, error) {
	if len(body) < 1 || body[0] == 0 || int(body[0]) > len(body)-1 {
		return zmtpCmd{}, errZMTPCmdName
	}
	n := int(body[0])
	return zmtpCmd{name: string(body[1 : 1+n]), data: body[1+n:]}, nil
}

// appendZMTPCmd appends a command frame of name and the data parts.
func appendZMTPCmd(out []byte, name string, data ...[]byte) []byte {
	size := 1 + len(name) + payloadLen(data)
	out = appendZMTPHeader(out, zmtpCommand, size)
	out = append(out, byte(len(name)))
	out = append(out, name...)
	for _, d := range data {
		out = append(out, d...)
	}
	return out
}

// zmtpProp is one property of a READY (or INITIATE) command's metadata.
type zmtpProp struct{ name, value string }

// appendZMTPProps encodes metadata: per property a name size byte, the
// name, a 4-byte big-endian value size, the value.
func appendZMTPProps(out []byte, props ...zmtpProp) []byte {
	for _, p := range props {
		out = append(out, byte(len(p.name)))
		out = append(out, p.name...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(p.value)))
		out = append(out, p.value...)
	}
	return out
}

// maxZMTPProps bounds the properties of one READY: each costs a map
// entry, and real peers send two to four.
const maxZMTPProps = 64

// parseZMTPProps decodes metadata. Every size is checked against what
// remains of the frame (which max_frame already bounds) before anything is
// taken, names are 1 to 255 bytes (their size is a byte) and values below
// 2^31 (RFC 23); names compare case-insensitively, so they are kept
// lower-cased.
func parseZMTPProps(b []byte) (map[string]string, error) {
	props := map[string]string{}
	for len(b) > 0 {
		if len(props) == maxZMTPProps {
			return nil, fmt.Errorf("zmtp: more than %d properties", maxZMTPProps)
		}
		n := int(b[0])
		if n == 0 || len(b) < 1+n+4 {
			return nil, errors.New("zmtp: property with an empty or cut name")
		}
		name := lowerASCII(b[1 : 1+n])
		size := binary.BigEndian.Uint32(b[1+n:])
		b = b[1+n+4:]
		if size >= 1<<31 || uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("zmtp: property %s of %d bytes, past its command's end", name, size)
		}
		props[name] = string(b[:size])
		b = b[size:]
	}
	return props, nil
}

func lowerASCII(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}
