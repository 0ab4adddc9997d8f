package opcodes

// SetMachineIDs makes the loops of Hosts made from now on hand out n
// machine ids instead of 4096, so that a test reaches the bound, or comes
// round to an id again, in a moment; it returns the undo.
func SetMachineIDs(n int) (undo func()) {
	was := machineIDs
	machineIDs = n
	return func() { machineIDs = was }
}

// MachineIDs is how many machine ids a loop hands out.
func MachineIDs() int { return machineIDs }
