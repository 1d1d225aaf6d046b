package health_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/health"
)

// A tour: checks behind readiness probes, a health snapshot Node Hydra can read, and a logger whose
// errors land in Hydra's flight-recorder log.
func Example() {
	m, _ := miniredis.Run()
	defer m.Close()
	client := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer func() { _ = client.Close() }()
	const instance = "8a0e4c0d6b2f4e1f9a3b5c7d9e1f2a3b" // the registrar's instance ID

	checks := health.NewChecker()
	_ = checks.Register("redis", health.RedisCheck(client))
	_ = checks.Register("cache", func(context.Context) error { return fmt.Errorf("cold") }, health.CheckOptional())

	reporter, _ := health.NewReporter(client, "orders", instance, health.ReporterChecker(checks))
	reporter.Start() // writes now and every 5 s
	snapshot, _ := reporter.Report(context.Background())
	fmt.Println("snapshot:", snapshot.ServiceName, snapshot.Status)

	recorder, _ := health.NewRecorder(client, "orders", instance, health.RecorderNext(log.NewNopLogger()))
	logger := log.With(recorder, "service", "orders")
	_ = level.Error(logger).Log("msg", "payment failed", "err", "card declined")
	_ = level.Info(logger).Log("msg", "only passed on")
	_ = recorder.Close()
	var entry health.Entry
	_ = json.Unmarshal([]byte(client.LIndex(context.Background(), "hydra:service:orders:"+instance+":health:log", 0).Val()), &entry)
	fmt.Println("flight recorder:", entry.Type, entry.Msg)

	mux := http.NewServeMux()
	mux.Handle("/healthz", health.LivenessHandler())
	mux.Handle("/readyz", health.ReadinessHandler(checks))
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code)
	}
	_ = reporter.Stop() // the health key expires 3 s later, as Node's does

	// Output:
	// snapshot: orders degraded
	// flight recorder: error payment failed service=orders err="card declined"
	// /healthz 200
	// /readyz 200
}
