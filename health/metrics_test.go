package health

import (
	"context"
	"errors"
	"testing"

	"github.com/go-kit/log/level"

	"github.com/hydrakit/hydrakit/internal/metricstest"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// A snapshot sets each check's gauge and the status set; the recorder counts what it writes.
func TestHealthMetrics(t *testing.T) {
	reg, option := metricstest.New(t)
	_, rdb := redistest.Mini(t)
	c := redistest.Fleet(t, rdb, option)
	checker := NewChecker()
	if err := checker.Register("db", func(context.Context) error { return errors.New("down") }); err != nil {
		t.Fatal(err)
	}
	if err := checker.Register("cache", func(context.Context) error { return nil }, CheckOptional()); err != nil {
		t.Fatal(err)
	}
	r, err := NewReporter(c, "metered", "i1", ReporterChecker(checker))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"check", "db"}, 0}, {[]string{"check", "cache"}, 1},
	} {
		if have := reg.Value("hydrakit_health_check_up", append([]string{"service", "metered"}, tc.labels...)...); tc.want != have {
			t.Errorf("check %v: want %v, have %v", tc.labels, tc.want, have)
		}
	}
	for status, want := range map[string]float64{"failing": 1, "degraded": 0, "ok": 0} {
		if have := reg.Value("hydrakit_health_status", "service", "metered", "status", status); want != have {
			t.Errorf("status %s: want %v, have %v", status, want, have)
		}
	}

	rec, err := NewRecorder(c, "metered", "i1")
	if err != nil {
		t.Fatal(err)
	}
	_ = level.Error(rec).Log("msg", "one")
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if want, have := 1.0, reg.Value("hydrakit_recorder_entries_total", "service", "metered"); want != have {
		t.Errorf("recorder entries: want %v, have %v", want, have)
	}
	if want, have := 0.0, reg.Value("hydrakit_recorder_dropped_total", "service", "metered"); want != have {
		t.Errorf("recorder drops: want %v, have %v", want, have)
	}
}
