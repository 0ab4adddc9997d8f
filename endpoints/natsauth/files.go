package natsauth

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrReadable refuses a secret file that group or others may read: a key
// others can read is no secret (the project refuses such CURVE keys too).
var ErrReadable = errors.New("natsauth: secret file is readable by group or others: chmod 600 it")

// ReadSeedFile reads and parses a user seed file (nkey_seed_file): see
// ParseSeed. The file must be a regular file of at most MaxSeedFile bytes
// that only its owner may read; the bytes read are zeroed after parsing.
func ReadSeedFile(path string) (*KeyPair, error) {
	var kp *KeyPair
	err := readSecret(path, MaxSeedFile, func(b []byte) (err error) {
		kp, err = ParseSeed(b)
		return err
	})
	return kp, err
}

// ReadCredsFile reads and parses a .creds file (creds_file): see
// ParseCreds. The same rules as ReadSeedFile hold, with MaxCredsFile.
func ReadCredsFile(path string) (jwt string, kp *KeyPair, err error) {
	err = readSecret(path, MaxCredsFile, func(b []byte) (err error) {
		jwt, kp, err = ParseCreds(b)
		return err
	})
	return jwt, kp, err
}

// readSecret hands parse the file's bytes, never reading more than max+1
// of them, and zeroes them after. Errors name the path.
func readSecret(path string, max int, parse func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err // *PathError: names the path
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file (%v)", path, fi.Mode().Type())
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s: %w (mode %v)", path, ErrReadable, fi.Mode().Perm())
	case fi.Size() > int64(max):
		return fmt.Errorf("%s: %w: %d bytes, at most %d", path, ErrTooLarge, fi.Size(), max)
	}
	buf := make([]byte, max+1) // one more: a file grown since Stat is still caught
	defer clear(buf)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := parse(buf[:n]); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
