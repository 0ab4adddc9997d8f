package endpoints

import "fmt"

// zmtpNull is the NULL mechanism (RFC 23): no security; each side sends
// READY with its metadata and the connection is established on the
// peer's READY.
type zmtpNull struct{}

func (zmtpNull) name() string   { return "NULL" }
func (zmtpNull) asServer() bool { return false }

func (zmtpNull) start(out []byte, props []zmtpProp) []byte {
	return appendZMTPCmd(out, "READY", appendZMTPProps(nil, props...))
}

func (zmtpNull) command(cmd zmtpCmd, out []byte, _ []zmtpProp) ([]byte, map[string]string, bool, error) {
	if cmd.name != "READY" {
		return out, nil, false, fmt.Errorf("zmtp: %q command in a NULL handshake, want READY", cmd.name)
	}
	peer, err := parseZMTPProps(cmd.data)
	if err != nil {
		return out, nil, false, err
	}
	return out, peer, true, nil
}
