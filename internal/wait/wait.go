// Package wait bounds a wait for a sync.WaitGroup, for the Close of components whose handlers may
// ignore their cancelled context.
package wait

import (
	"sync"
	"time"
)

// Timeout waits for wg at most d and reports whether it is done. When it is not, the goroutine that
// waits stays until wg is done: the goroutines wg counts are what hold it.
func Timeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
