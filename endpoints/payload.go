package endpoints

// A payload reaches Encode as slices written back to back (the parts of a
// multipart message, or one slice): framings read it through these, never
// by joining it.

// payloadLen is the payload's length in bytes.
func payloadLen(payload [][]byte) int {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	return n
}

// lastByte is the payload's last byte; false when it is empty.
func lastByte(payload [][]byte) (byte, bool) {
	for i := len(payload) - 1; i >= 0; i-- {
		if p := payload[i]; len(p) > 0 {
			return p[len(p)-1], true
		}
	}
	return 0, false
}

// hasSuffix reports whether the payload ends with suffix, which may span
// several slices.
func hasSuffix(payload [][]byte, suffix []byte) bool {
	for i := len(payload) - 1; i >= 0 && len(suffix) > 0; i-- {
		p := payload[i]
		k := min(len(p), len(suffix))
		if string(p[len(p)-k:]) != string(suffix[len(suffix)-k:]) {
			return false
		}
		suffix = suffix[:len(suffix)-k]
	}
	return len(suffix) == 0
}
