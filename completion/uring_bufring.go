package completion

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setupBufRing registers a ring of provided buffers (Linux 5.19+). Without
// one, each pending recv holds a pinned heap buffer instead.
func (p *uringPort) setupBufRing() {
	ringSize := uringBufs * 16
	ring, err := unix.Mmap(-1, 0, ringSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		p.note("recv: no provided-buffer ring (mmap: " + err.Error() + "); one buffer per pending recv")
		return
	}
	mem, err := unix.Mmap(-1, 0, uringBufs*BufSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		unix.Munmap(ring)
		p.note("recv: no provided-buffer ring (mmap: " + err.Error() + "); one buffer per pending recv")
		return
	}
	reg := uringBufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&ring[0]))), ringEntries: uringBufs, bgid: 0}
	if err := uringRegister(p.fd, uringRegisterPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		unix.Munmap(ring)
		unix.Munmap(mem)
		p.note("recv: no provided-buffer ring (" + err.Error() + ", Linux 5.19+); one buffer per pending recv")
		return
	}
	p.pbufRing, p.pbufMem = ring, mem
	p.pbufs = make([]Buf, uringBufs)
	for i := range p.pbufs {
		p.pbufs[i] = Buf{B: mem[i*BufSize : (i+1)*BufSize : (i+1)*BufSize], id: int32(i)}
		p.pbufPut(i)
	}
}

// pbufPut hands buffer id back to the kernel.
func (p *uringPort) pbufPut(id int) {
	e := unsafe.Pointer(&p.pbufRing[int(p.pbufTail&(uringBufs-1))*16])
	*(*uint64)(e) = uint64(uintptr(unsafe.Pointer(&p.pbufs[id].B[0])))
	*(*uint32)(unsafe.Add(e, 8)) = BufSize
	*(*uint16)(unsafe.Add(e, 12)) = uint16(id)
	p.pbufTail++
	// The tail is the u16 at byte 14, overlaying bufs[0].resv; publish it
	// with one atomic 32-bit store over bytes 12-15 that rewrites entry
	// 0's bid (bytes 12-13) unchanged.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&p.pbufRing[12])),
		uint32(*(*uint16)(unsafe.Pointer(&p.pbufRing[12])))|uint32(p.pbufTail)<<16)
}

func (p *uringPort) Release(b *Buf) {
	if b == nil {
		return
	}
	if b.id < 0 {
		p.bufs.put(b)
		return
	}
	p.pbufPut(int(b.id))
	if len(p.starved) > 0 {
		// A recv that found the ring empty can go again now.
		fd := p.starved[0]
		p.starved = p.starved[1:]
		if st := p.fds.find(fd); st != nil {
			switch {
			case st.rd != 0:
				p.submitRecv(st.rd - 1)
			case st.want && st.ms == 0:
				p.armMultishot(fd)
			}
		}
	}
}
