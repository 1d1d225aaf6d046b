package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLivenessHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	LivenessHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if want, have := http.StatusOK, rec.Code; want != have {
		t.Fatalf("want %d, have %d", want, have)
	}
	var body struct {
		Status Status `json:"status"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Status != StatusOK {
		t.Errorf("body %s: %v", rec.Body, err)
	}
	if want, have := "application/json", rec.Header().Get("Content-Type"); want != have {
		t.Errorf("want %q, have %q", want, have)
	}
}

func TestReadinessHandler(t *testing.T) {
	for _, tc := range []struct {
		name     string
		check    Check
		optional bool
		code     int
		status   Status
	}{
		{"ok", pass, false, http.StatusOK, StatusOK},
		{"degraded", fail, true, http.StatusOK, StatusDegraded},
		{"failing", fail, false, http.StatusServiceUnavailable, StatusFailing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker()
			var opts []CheckOption
			if tc.optional {
				opts = append(opts, CheckOptional())
			}
			_ = c.Register("dep", tc.check, opts...)
			rec := httptest.NewRecorder()
			ReadinessHandler(c).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if want, have := tc.code, rec.Code; want != have {
				t.Errorf("code: want %d, have %d", want, have)
			}
			var report Report
			if err := json.Unmarshal(rec.Body.Bytes(), &report); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			if want, have := tc.status, report.Status; want != have {
				t.Errorf("status: want %q, have %q", want, have)
			}
			if want, have := 1, len(report.Checks); want != have || report.Checks[0].Name != "dep" {
				t.Errorf("checks: %+v", report.Checks)
			}
		})
	}
}

// A probe whose client went away is answered at once.
func TestReadinessHandlerRequestContext(t *testing.T) {
	c := NewChecker()
	returned := make(chan struct{})
	defer func() { <-returned }() // the check's run ends with its own timeout
	_ = c.Register("slow", func(ctx context.Context) error {
		defer close(returned)
		<-ctx.Done()
		return ctx.Err()
	}, CheckTimeout(10*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	ReadinessHandler(c).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil).WithContext(ctx))
	if want, have := http.StatusServiceUnavailable, rec.Code; want != have {
		t.Errorf("want %d, have %d", want, have)
	}
}
