package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/health"
)

// A tour: checks behind readiness probes, a health snapshot Node Hydra can read, and a logger whose
// errors land in Hydra's flight-recorder log.
func Example() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer func() { _ = rdb.Close() }()
	client, _ := hydrakit.NewClient(rdb)
	defer func() { _ = client.Close() }()
	ctx := context.Background()
	const instance = "8a0e4c0d6b2f4e1f9a3b5c7d9e1f2a3b" // the registrar's instance ID
	healthKey := client.Keyspace().Health("orders", instance)

	checks := health.NewChecker()
	_ = checks.Register("redis", health.RedisCheck(client))
	_ = checks.Register("cache", func(context.Context) error { return errors.New("cold") }, health.CheckOptional())

	// The first snapshot is written before NewReporter returns, then one every 5 s until Close.
	reporter, err := health.NewReporter(client, "orders", instance, health.ReporterChecker(checks))
	if err != nil {
		fmt.Println(err)
		return
	}
	var snapshot health.Snapshot
	_ = json.Unmarshal([]byte(rdb.Get(ctx, healthKey).Val()), &snapshot)
	fmt.Println("snapshot:", snapshot.ServiceName, snapshot.Status)

	recorder, err := health.NewRecorder(client, "orders", instance, health.RecorderNext(log.NewNopLogger()))
	if err != nil {
		fmt.Println(err)
		return
	}
	logger := log.With(recorder, "service", "orders")
	_ = level.Error(logger).Log("msg", "payment failed", "err", "card declined")
	_ = level.Info(logger).Log("msg", "only passed on")
	if err := recorder.Close(); err != nil { // writes what is still buffered
		fmt.Println(err)
	}
	var entry health.Entry
	_ = json.Unmarshal([]byte(rdb.LIndex(ctx, client.Keyspace().HealthLog("orders", instance), 0).Val()), &entry)
	fmt.Println("flight recorder:", entry.Type, entry.Msg)

	mux := http.NewServeMux()
	mux.Handle("/healthz", health.LivenessHandler())
	mux.Handle("/readyz", health.ReadinessHandler(checks))
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code)
	}
	if err := reporter.Close(); err != nil { // the health key expires 3 s later, as Node's does
		fmt.Println(err)
	}
	fmt.Println("health key TTL:", m.TTL(healthKey))

	// Output:
	// snapshot: orders degraded
	// flight recorder: error payment failed service=orders err="card declined"
	// /healthz 200
	// /readyz 200
	// health key TTL: 3s
}
