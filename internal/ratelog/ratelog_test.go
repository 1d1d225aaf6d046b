package ratelog_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/ratelog"
)

func TestLoggerBoundsAndCounts(t *testing.T) {
	var lines []string
	next := log.LoggerFunc(func(kv ...any) error { lines = append(lines, fmt.Sprint(kv...)); return nil })
	now := time.Unix(0, 0)
	l := ratelog.New(next, 3)
	l.Now = func() time.Time { return now }
	for i := range 10 {
		_ = l.Log("msg", i)
	}
	if want, have := 3, len(lines); want != have {
		t.Fatalf("want %d lines in the first second, have %d: %q", want, have, lines)
	}
	now = now.Add(time.Second)
	_ = l.Log("msg", "next")
	if want, have := "msgnextsuppressed7", lines[len(lines)-1]; want != have {
		t.Fatalf("want %q, have %q", want, have)
	}
	_ = l.Log("msg", "again")
	if strings.Contains(lines[len(lines)-1], "suppressed") {
		t.Fatalf("the count is reported once: %q", lines)
	}
}
