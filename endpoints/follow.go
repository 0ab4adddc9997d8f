package endpoints

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"time"
)

// follower copies a file into a pipe as it grows, like tail -F: at the end
// it checks every poll whether the file grew, was truncated (read again
// from the start) or was replaced at its path (the old file is read to its
// end, then the new one from its start). It is one goroutine per followed
// file, not per connection, and it ends when the pipe's reader is closed.
type follower struct {
	path string
	open func() (*os.File, error) // opens path (see fileEndpoint.openFollowed)
	log  *slog.Logger
	// failed is the last error opening path logged, so that a file that
	// stays unopenable is reported once, not every poll.
	failed string
	f      *os.File
	out    *os.File // the pipe's write end
	poll   time.Duration
	stop   chan struct{}
	// waiting is set while the file has not been there since the start.
	waiting bool
}

func (fl *follower) run() {
	defer fl.out.Close()
	defer func() {
		if fl.f != nil {
			fl.f.Close()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		if fl.f != nil {
			n, err := fl.f.Read(buf)
			if n > 0 {
				// A blocking write: a slow reader holds the follower
				// back instead of growing a buffer.
				if _, werr := fl.out.Write(buf[:n]); werr != nil {
					return // the endpoint closed its end
				}
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				fl.f.Close()
				fl.f = nil // reopened at the next check
			}
		}
		select {
		case <-fl.stop:
			return
		case <-time.After(fl.poll):
		}
		fl.check()
	}
}

// check looks for truncation and rotation once the file is at its end.
func (fl *follower) check() {
	cur, err := os.Stat(fl.path)
	if err != nil {
		return // gone for now (mid-rotation): keep what is open
	}
	if fl.f == nil {
		fl.f = fl.openLogged()
		return
	}
	open, err := fl.f.Stat()
	if err != nil {
		return
	}
	if !os.SameFile(cur, open) {
		// Rotated: the old file was read to its end just now; any last
		// bytes are read before switching.
		if rest, err := io.ReadAll(fl.f); err == nil && len(rest) > 0 {
			if _, err := fl.out.Write(rest); err != nil {
				return
			}
		}
		if nf := fl.openLogged(); nf != nil {
			fl.f.Close()
			fl.f = nf
		}
		return
	}
	if pos, err := fl.f.Seek(0, io.SeekCurrent); err == nil && cur.Size() < pos {
		fl.f.Seek(0, io.SeekStart) // truncated (copytruncate): start over
	}
}

// openLogged opens the path, saying when it appears and, once per distinct
// error, why it cannot be opened (a symlink not followed, permissions).
func (fl *follower) openLogged() *os.File {
	f, err := fl.open()
	switch {
	case err == nil:
		if fl.failed != "" || fl.waiting {
			fl.log.Info("file appeared", "path", fl.path)
		}
		fl.failed, fl.waiting = "", false
		return f
	case errors.Is(err, os.ErrNotExist):
	case err.Error() != fl.failed:
		fl.failed = err.Error()
		fl.log.Warn("cannot open followed file", "path", fl.path, "err", err)
	}
	return nil
}
