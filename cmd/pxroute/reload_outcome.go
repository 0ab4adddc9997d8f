package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A signal carries no answer, so a daemon run with --pid-file F records
// the outcome of each SIGHUP reload in F.reload, numbered, and pxroute
// reload --pid-file waits for the number after the one it saw before
// signalling: it exits 0 only for a reload applied. Two reloads sent at
// once may both report the later outcome (the kernel merges pending
// SIGHUPs); the daemon's log holds each.

// outcomePath is the outcome file beside pidFile.
func outcomePath(pidFile string) string { return pidFile + ".reload" }

// reloadOutcome is one line of JSON in the outcome file.
type reloadOutcome struct {
	PID    int    `json:"pid"`
	Seq    uint64 `json:"seq"`    // 0 at start, then one per SIGHUP
	OK     bool   `json:"ok"`     // the reload was applied (and files reopened)
	Result string `json:"result"` // what changed, or why it was refused
}

// outcomeFile is the daemon's side.
type outcomeFile struct {
	path string
	pid  int
	seq  uint64
}

// record writes the next outcome: err nil means applied with result.
// The file is replaced whole (a rename), so a reader never sees half.
func (f *outcomeFile) record(err error, result string) error {
	o := reloadOutcome{PID: f.pid, Seq: f.seq, OK: err == nil, Result: result}
	f.seq++
	if err != nil {
		o.Result = err.Error()
	}
	b, _ := json.Marshal(o)
	tmp, terr := os.CreateTemp(filepath.Dir(f.path), filepath.Base(f.path)+".*")
	if terr != nil {
		return terr
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), f.path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}

func readOutcome(path string) (reloadOutcome, error) {
	var o reloadOutcome
	b, err := os.ReadFile(path)
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return o, fmt.Errorf("%s: %w", path, err)
	}
	return o, nil
}

// signalReload sends pid SIGHUP and waits up to timeout for the outcome
// it causes.
func signalReload(pidFile string, pid int, timeout time.Duration) (reloadOutcome, error) {
	path := outcomePath(pidFile)
	before, err := readOutcome(path)
	if err != nil {
		return before, fmt.Errorf("no reload outcome to compare (%v): is process %d a pxroute run with --pid-file %s?", err, pid, pidFile)
	}
	if before.PID != pid {
		return before, fmt.Errorf("%s belongs to process %d, not %d: a stale file?", path, before.PID, pid)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return before, fmt.Errorf("process %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		o, err := readOutcome(path)
		if err == nil && (o.PID != before.PID || o.Seq > before.Seq) {
			return o, nil
		}
		if time.Now().After(deadline) {
			return before, fmt.Errorf("sent SIGHUP to %d, but no outcome within %v: see its log", pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
