package health

import (
	"encoding/json"
	"net/http"
	"time"
)

// LivenessHandler answers 200 with {"status":"ok","uptimeSeconds":n} as long as the process serves
// HTTP. It runs no checks on purpose: a dependency outage must make an instance unready, not get a
// healthy process restarted.
func LivenessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Status        Status  `json:"status"`
			UptimeSeconds float64 `json:"uptimeSeconds"`
		}{StatusOK, time.Since(processStart).Seconds()})
	})
}

// ReadinessHandler answers each request with c.Run as JSON: 200 when the status is ok or degraded,
// 503 when failing. Run reuses results up to a second old and shares a check's run among the probes
// that arrive while it runs, so any probe rate costs at most one run of each check a second and one
// goroutine per check; each answer is bounded by the request's context and each check's timeout.
// Error texts of failed checks are in the body; serve it on an internal port.
func ReadinessHandler(c *Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		report := c.Run(r.Context())
		code := http.StatusOK
		if report.Status == StatusFailing {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, report)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
