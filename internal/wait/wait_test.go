package wait

import (
	"sync"
	"testing"
	"time"
)

func TestTimeout(t *testing.T) {
	var wg sync.WaitGroup
	if !Timeout(&wg, time.Hour) {
		t.Fatal("an empty WaitGroup is done")
	}
	wg.Add(1)
	if Timeout(&wg, time.Millisecond) {
		t.Fatal("a WaitGroup with work left is not done")
	}
	wg.Done()
	if !Timeout(&wg, time.Hour) {
		t.Fatal("done after Done")
	}
}
