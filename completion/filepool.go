package completion

import (
	"sync"

	"golang.org/x/sys/unix"
)

// FileWorkers is how many goroutines serve regular-file I/O for every epoll
// port in the process. Files are not pollable, so their reads and writes
// block; a small fixed pool keeps that off the loops without a thread per
// file. The count does not grow with connections or files.
const FileWorkers = 4

type fileJob struct {
	port  *epollPort
	fd    int
	kind  Kind
	token uint64
	buf   *Buf     // KindRecv
	iov   [][]byte // KindSend
	pipe  int      // KindSpliceIn, KindSpliceOut
	n     int
}

// fileDone carries a worker's result back to the owning port's inbox.
type fileDone struct {
	fd int
	c  Completion
}

var (
	fileOnce  sync.Once
	fileQueue chan fileJob
)

func fileWork(p *epollPort, j fileJob) {
	fileOnce.Do(func() {
		fileQueue = make(chan fileJob, 1024)
		for range FileWorkers {
			go fileWorker()
		}
	})
	j.port = p
	fileQueue <- j
}

func fileWorker() {
	var scratch []unix.Iovec
	for j := range fileQueue {
		d := &fileDone{fd: j.fd, c: Completion{Token: j.token, Kind: j.kind}}
		var n int
		var err error
		for {
			var n64 int64
			switch j.kind {
			case KindRecv:
				n, err = unix.Read(j.fd, j.buf.B)
			case KindSend:
				n, err = Writev(j.fd, j.iov, &scratch)
			case KindSpliceIn: // a file into the loop's pipe: blocks here, not there
				n64, err = unix.Splice(j.fd, nil, j.pipe, nil, j.n, unix.SPLICE_F_MOVE)
				n = int(n64)
			case KindSpliceOut:
				n64, err = unix.Splice(j.pipe, nil, j.fd, nil, j.n, unix.SPLICE_F_MOVE)
				n = int(n64)
			}
			if err != unix.EINTR {
				break
			}
		}
		d.c.N, d.c.Err = max(n, 0), errno(err)
		if j.buf != nil {
			d.c.Buf = j.buf // the owner's reap keeps it only when it holds data
		}
		j.port.files.Push(d)
		_ = j.port.Wake()
	}
}
