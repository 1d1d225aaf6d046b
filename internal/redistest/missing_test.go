package redistest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

// fatalTB records the first Fatal and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatal(args ...any) { f.msg = fmt.Sprint(args...); runtime.Goexit() }
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinariesFailSayingHowToInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("with -short, Start skips before it looks for binaries")
	}
	t.Setenv("PATH", t.TempDir()) // no redis-server, redis-cli, redis-sentinel or docker
	for name, start := range map[string]func(testing.TB){
		"Start TLS":     func(tb testing.TB) { redistest.Start(tb, redistest.TLS()) },
		"StartCluster":  func(tb testing.TB) { redistest.StartCluster(tb) },
		"StartSentinel": func(tb testing.TB) { redistest.StartSentinel(tb) },
	} {
		tb := &fatalTB{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); start(tb) }()
		<-done
		t.Logf("%s: %s", name, tb.msg)
		if !strings.Contains(tb.msg, "apt-get install -y redis-server") {
			t.Errorf("%s: want a failure saying how to install Redis, have %q", name, tb.msg)
		}
	}
}
