package opcodes_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/opcodes"
	"github.com/pxroute/pxroute/topology"
)

// A loop hosts at most 4096 programs at once (the test lowers the bound
// to 64: the same code, reached in a moment). The next one is refused
// with a clear error, leaves no descriptor open, and once one program has
// left another can start.
func TestProbeMachineBoundRefusesTheNextProgramCleanly(t *testing.T) {
	for _, engine := range []string{"epoll", "io_uring"} {
		for _, loops := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/loops=%d", engine, loops), func(t *testing.T) {
				newPort := completion.NewEpoll
				if engine == "io_uring" {
					newPort = completion.NewUring
				}
				defer opcodes.SetMachineIDs(64)()
				host, err := opcodes.NewHost(loops, newPort, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer host.Close()
				c, err := topology.Load("t.yaml", []byte(`
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: e}
`))
				if err != nil {
					t.Fatal(err)
				}
				start := func() (*opcodes.Runtime, error) {
					return opcodes.Start(opcodes.Config{Prog: c.Prog, Endpoints: c.Openers(), Settings: c.Settings(), Host: host})
				}
				var rts []*opcodes.Runtime
				defer func() {
					for _, rt := range rts {
						rt.Stop(0)
					}
				}()
				for i := range opcodes.MachineIDs() {
					rt, err := start()
					if err != nil {
						t.Fatalf("program %d: %v", i+1, err)
					}
					rts = append(rts, rt)
				}
				fds := openFDs(t)
				if _, err := start(); err == nil || !strings.Contains(err.Error(), "cannot take another program") {
					t.Fatalf("program %d: %v, want a refusal", opcodes.MachineIDs()+1, err)
				}
				if got := openFDs(t); got != fds {
					t.Errorf("the refused program left %d descriptors open", got-fds)
				}
				rts[0].Stop(0)
				rt, err := start()
				if err != nil {
					t.Fatalf("after one left: %v", err)
				}
				rts[0] = rt
			})
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
