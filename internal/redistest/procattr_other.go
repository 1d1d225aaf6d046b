//go:build !linux

package redistest

import "os/exec"

// setProcAttr does nothing here: only Linux kills a child when its parent dies.
func setProcAttr(*exec.Cmd) {}
