package completion

import (
	"fmt"
	"unsafe"
)

// probe checks that the kernel supports every opcode this backend needs.
func (p *uringPort) probe() error {
	var pr uringProbe
	if err := uringRegister(p.fd, uringRegisterProbe, unsafe.Pointer(&pr), 256); err != nil {
		return fmt.Errorf("io_uring: probing opcodes: %w", err)
	}
	var missing []string
	for _, op := range []uint8{uringOpAccept, uringOpRecv, uringOpSend, uringOpRead, uringOpWrite, uringOpWritev,
		uringOpConnect, uringOpAsyncCancel, uringOpPollAdd, uringOpSplice} {
		if op > pr.lastOp || pr.ops[op].flags&uringOpSupported == 0 {
			missing = append(missing, uringOpNames[op])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("io_uring: kernel lacks opcodes %v", missing)
	}
	return nil
}
