package redistest

import (
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill the server if the test binary dies without running its cleanups (a
// panic, a -timeout, a SIGKILL), so no redis-server outlives the test run. (Linux sends the signal when
// the thread that started the child exits; the Go runtime keeps its threads unless a goroutine exits
// while locked to one, which no test here does.)
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
