package completion

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

func (p *uringPort) setup() error {
	// Try the most helpful flags first and drop what the kernel refuses.
	tries := []struct {
		flags uint32
		note  string
	}{
		{uringSetupSingleIssuer | uringSetupDeferTaskrun | uringSetupCoopTaskrun | uringSetupSubmitAll, ""},
		{uringSetupSingleIssuer | uringSetupCoopTaskrun | uringSetupSubmitAll, "DEFER_TASKRUN unsupported"},
		{uringSetupCoopTaskrun, "SINGLE_ISSUER unsupported"},
		{0, "COOP_TASKRUN unsupported"},
	}
	var params uringParams
	var err error
	for _, t := range tries {
		params = uringParams{flags: t.flags | uringSetupClamp | uringSetupCQSize, cqEntries: 4 * uringEntries}
		p.fd, err = uringSetup(uringEntries, &params)
		if err == nil {
			if t.note != "" {
				p.note(t.note)
			}
			break
		}
		if err != unix.EINVAL {
			break
		}
	}
	if err != nil {
		return uringSetupError(err)
	}
	p.features, p.flags = params.features, params.flags
	if p.features&uringFeatExtArg == 0 {
		return errors.New("io_uring: kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11+)")
	}
	if p.features&uringFeatNoDrop == 0 {
		return errors.New("io_uring: kernel lacks IORING_FEAT_NODROP (Linux 5.5+)")
	}
	if err := p.mapRings(&params); err != nil {
		return err
	}
	if err := p.probe(); err != nil {
		return err
	}
	p.setupBufRing()
	p.multishotAccept = true            // tried on first use; the kernel says EINVAL if not
	p.multishotRecv = p.pbufRing != nil // needs provided buffers; EINVAL on first use turns it off
	return p.setupWake()
}

// uringSetupError explains why io_uring_setup failed.
func uringSetupError(err error) error {
	why := ""
	switch err {
	case unix.ENOSYS:
		why = "the kernel has no io_uring (too old, or built without it)"
	case unix.EPERM:
		why = "not permitted: io_uring is disabled by sysctl kernel.io_uring_disabled or blocked by seccomp (container default profiles block it)"
		if b, e := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); e == nil {
			why += fmt.Sprintf("; io_uring_disabled=%s", strings.TrimSpace(string(b)))
		}
	case unix.ENOMEM:
		why = "no memory for the rings (RLIMIT_MEMLOCK on kernels before 5.12?)"
	default:
		why = err.Error()
	}
	return fmt.Errorf("io_uring_setup: %w (%s)", err, why)
}

func (p *uringPort) mapRings(params *uringParams) error {
	sqSize := int(params.sqOff.array + params.sqEntries*4)
	cqSize := int(params.cqOff.cqes + params.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	if p.features&uringFeatSingleMmap != 0 {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	p.sqRing, err = unix.Mmap(p.fd, uringOffSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return os.NewSyscallError("mmap sq ring", err)
	}
	if p.features&uringFeatSingleMmap != 0 {
		p.cqRing = p.sqRing
	} else if p.cqRing, err = unix.Mmap(p.fd, uringOffCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return os.NewSyscallError("mmap cq ring", err)
	}
	sqeSize := int(params.sqEntries) * int(unsafe.Sizeof(uringSQE{}))
	if p.sqeMem, err = unix.Mmap(p.fd, uringOffSQEs, sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return os.NewSyscallError("mmap sqes", err)
	}
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	p.sqHead, p.sqTail = u32(p.sqRing, params.sqOff.head), u32(p.sqRing, params.sqOff.tail)
	p.sqMask, p.sqEntries = *u32(p.sqRing, params.sqOff.ringMask), params.sqEntries
	p.sqFlags = u32(p.sqRing, params.sqOff.flags)
	array := unsafe.Slice(u32(p.sqRing, params.sqOff.array), params.sqEntries)
	for i := range array {
		array[i] = uint32(i) // SQE i always sits in slot i
	}
	p.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&p.sqeMem[0])), params.sqEntries)
	p.cqHead, p.cqTail = u32(p.cqRing, params.cqOff.head), u32(p.cqRing, params.cqOff.tail)
	p.cqMask = *u32(p.cqRing, params.cqOff.ringMask)
	p.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&p.cqRing[params.cqOff.cqes])), params.cqEntries)
	return nil
}
