package completion

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring ABI, from linux/io_uring.h. Only what this backend uses.

const (
	uringSetupSubmitAll    = 1 << 7
	uringSetupCoopTaskrun  = 1 << 8
	uringSetupSingleIssuer = 1 << 12
	uringSetupDeferTaskrun = 1 << 13
	uringSetupClamp        = 1 << 4
	uringSetupCQSize       = 1 << 3
	uringFeatSingleMmap    = 1 << 0
	uringFeatNoDrop        = 1 << 1
	uringFeatExtArg        = 1 << 8
	uringEnterGetEvents    = 1 << 0
	uringEnterExtArg       = 1 << 3
	uringRegisterProbe     = 8
	uringRegisterPbufRing  = 22
	uringOffSQRing         = 0
	uringOffCQRing         = 0x8000000
	uringOffSQEs           = 0x10000000
	uringSQEBufferSelect   = 1 << 5
	uringCQEFBuffer        = 1 << 0
	uringCQEFMore          = 1 << 1
	uringCQEBufferShift    = 16
	uringAcceptMultishot   = 1 << 0
	uringRecvMultishot     = 1 << 1
	uringOpSupported       = 1 << 0
	uringSQCQOverflow      = 1 << 1
	uringSQTaskrun         = 1 << 2
)

// Opcodes.
const (
	uringOpWritev      = 2
	uringOpPollAdd     = 6
	uringOpSplice      = 30
	uringOpAccept      = 13
	uringOpAsyncCancel = 14
	uringOpConnect     = 16
	uringOpRead        = 22
	uringOpWrite       = 23
	uringOpSend        = 26
	uringOpRecv        = 27
)

var uringOpNames = map[uint8]string{
	uringOpWritev: "writev", uringOpAccept: "accept", uringOpAsyncCancel: "async_cancel",
	uringOpConnect: "connect", uringOpRead: "read", uringOpWrite: "write",
	uringOpSend: "send", uringOpRecv: "recv", uringOpPollAdd: "poll_add", uringOpSplice: "splice",
}

type uringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	resv2                                                           uint64
}

type uringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	resv2                                                           uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  uringSQOffsets
	cqOff                                                                  uringCQOffsets
}

// uringSQE is struct io_uring_sqe (64 bytes).
type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32
	addr3       uint64
	pad2        uint64
}

// uringCQE is struct io_uring_cqe (16 bytes).
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type uringProbe struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
	ops    [256]struct {
		op    uint8
		resv  uint8
		flags uint16
		resv2 uint32
	}
}

type uringBufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	pad         uint16
	resv        [3]uint64
}

type uringGetEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	pad       uint32
	ts        uint64
}

var (
	_ [64]byte  = [unsafe.Sizeof(uringSQE{})]byte{}
	_ [16]byte  = [unsafe.Sizeof(uringCQE{})]byte{}
	_ [120]byte = [unsafe.Sizeof(uringParams{})]byte{}
	_ [40]byte  = [unsafe.Sizeof(uringBufReg{})]byte{}
	_ [24]byte  = [unsafe.Sizeof(uringGetEventsArg{})]byte{}
)

func uringSetup(entries uint32, p *uringParams) (int, error) {
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func uringEnter(fd int, toSubmit, minComplete, flags uint32, arg unsafe.Pointer, argSz uintptr) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete),
		uintptr(flags), uintptr(arg), argSz)
	if e != 0 {
		return int(n), e
	}
	return int(n), nil
}

func uringRegister(fd int, op uint32, arg unsafe.Pointer, n uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(op), uintptr(arg), uintptr(n), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// rawSockaddr marshals sa for IORING_OP_CONNECT into dst, returning its length.
func rawSockaddr(sa unix.Sockaddr, dst *[unix.SizeofSockaddrAny]byte) (uint32, error) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		r := (*unix.RawSockaddrInet4)(unsafe.Pointer(dst))
		r.Family = unix.AF_INET
		r.Port = uint16(a.Port>>8) | uint16(a.Port&0xff)<<8
		r.Addr = a.Addr
		return unix.SizeofSockaddrInet4, nil
	case *unix.SockaddrInet6:
		r := (*unix.RawSockaddrInet6)(unsafe.Pointer(dst))
		r.Family = unix.AF_INET6
		r.Port = uint16(a.Port>>8) | uint16(a.Port&0xff)<<8
		r.Scope_id = a.ZoneId
		r.Addr = a.Addr
		return unix.SizeofSockaddrInet6, nil
	case *unix.SockaddrUnix:
		r := (*unix.RawSockaddrUnix)(unsafe.Pointer(dst))
		r.Family = unix.AF_UNIX
		if len(a.Name) >= len(r.Path) {
			return 0, unix.EINVAL
		}
		for i := range len(a.Name) {
			r.Path[i] = int8(a.Name[i])
		}
		n := 2 + len(a.Name) + 1
		if len(a.Name) > 0 && a.Name[0] == '@' { // abstract namespace
			r.Path[0] = 0
			n--
		}
		return uint32(n), nil
	}
	return 0, unix.EAFNOSUPPORT
}
