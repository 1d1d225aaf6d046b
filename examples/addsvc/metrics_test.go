package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	dto "github.com/prometheus/client_model/go"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/embedded"
	"github.com/hydrakit/hydrakit/internal/metricstest"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// TestEveryDocumentedMetric runs addsvc (which serves /metrics on its listener) and its selftest,
// which calls it over pub/sub with discovery, beside a worker, a health reporter and recorder and a
// few components that fail on purpose, all reporting to the one registry addsvc serves. One scrape
// under that traffic finds every metric of docs/observability.md's table, with the values the
// traffic explains: counters exact where the test decides the traffic, at least one where Redis or
// the timers do (reconnects, heartbeats), histograms with one observation per request.
func TestEveryDocumentedMetric(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger := log.NewNopLogger()
	option, handler, err := embedded.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	client := redistest.Fleet(t, rdb, option)

	// addsvc and its selftest: 3 pub/sub calls (sum, concat, an overflow answered 400) and 3 HTTP
	// calls, found through discovery.
	inst, err := startInstance(client, "127.0.0.1:0", handler, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.stop()
	var out strings.Builder
	if err := runSelftest(ctx, client, &out, logger); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "remote error 400") {
		t.Fatalf("selftest: %s", out.String())
	}

	// Transport failures: a request nobody listens for, a malformed message, a handler that panics.
	caller, err := redispubsub.NewConn(client, "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	if _, err := caller.Request(ctx, &umf.Message{To: keyspace.NewInstanceID() + "@nobody:/x"}); !errors.Is(err, redispubsub.ErrNoResponders) {
		t.Fatalf("request to nobody: want ErrNoResponders, have %v", err)
	}
	if err := rdb.Publish(ctx, keyspace.New().InstanceChannel(serviceName, inst.registrar.ID()), "not json").Err(); err != nil {
		t.Fatal(err)
	}
	panicky, err := redispubsub.NewConn(client, "panicky", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer panicky.Close()
	panicky.Handle("/boom", func(context.Context, *redispubsub.Conn, *umf.Message) { panic("on purpose") })
	if err := caller.Send(ctx, &umf.Message{To: panicky.Address() + "boom"}); err != nil {
		t.Fatal(err)
	}

	// Health: a reporter with one passing check, a recorder that writes, one whose Redis never
	// answers (its entries are dropped).
	checker := health.NewChecker()
	if err := checker.Register("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	reporter, err := health.NewReporter(client, serviceName, inst.registrar.ID(), health.ReporterChecker(checker))
	if err != nil {
		t.Fatal(err)
	}
	defer reporter.Close()
	if _, err := reporter.Report(ctx); err != nil {
		t.Fatal(err)
	}
	recorder, err := health.NewRecorder(client, serviceName, inst.registrar.ID())
	if err != nil {
		t.Fatal(err)
	}
	_ = level.Error(recorder).Log("msg", "recorded")
	if err := recorder.Close(); err != nil {
		t.Fatal(err)
	}
	silent := silentRedis(t)
	broken := redistest.Fleet(t, silent, option)
	lost, err := health.NewRecorder(broken, "lost", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = level.Error(lost).Log("msg", "never written")
	}
	_ = lost.Close()

	// Discovery: an Instancer that follows addsvc through a lost connection, one whose reads fail.
	instancer, err := sdredis.NewInstancer(client, serviceName, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer instancer.Stop()
	failing, err := sdredis.NewInstancer(broken, "unreachable", logger, sdredis.InstancerResync(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer failing.Stop()

	// The worker: normal jobs, one that fails once, one that fails for good, one that runs until its
	// lease was renewed, and an orphan (in progress with no lease, as a Node consumer leaves it).
	const jobs = 5
	release := make(chan struct{})
	consumer, err := queue.NewConsumer(client, "jobs", queue.HandlerFunc(func(ctx context.Context, d *queue.Delivery) error {
		switch d.Message.Type {
		case "flaky":
			if d.Attempt == 1 {
				return errors.New("fails once")
			}
		case "poison":
			return queue.Permanent(errors.New("fails for good"))
		case "slow":
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}), queue.ConsumerLease(500*time.Millisecond), queue.ConsumerAdoptOrphans(time.Millisecond),
		queue.ConsumerBackoff(func(int) time.Duration { return time.Millisecond }), queue.ConsumerWorkers(4))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	producer, err := queue.NewProducer(client)
	if err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{"", "", "", "", "", "flaky", "poison", "slow"} {
		m, err := umf.New("jobs:/", "test:/", i)
		if err != nil {
			t.Fatal(err)
		}
		m.Type = typ
		if err := producer.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	orphan, err := umf.New("jobs:/", "node:/", "orphan")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := orphan.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.LPush(ctx, keyspace.New().QueueInProgress("jobs"), raw).Err(); err != nil {
		t.Fatal(err)
	}

	url := "http://" + inst.addr + "/metrics"
	waitFor(t, url, "a lease extension", func(f families) bool { return f.value("hydrakit_queue_lease_extensions_total", "queue", "jobs") >= 1 })
	close(release)
	waitFor(t, url, "every job settled", func(f families) bool {
		return f.value("hydrakit_queue_completed_total", "queue", "jobs") == jobs+3 &&
			f.value("hydrakit_queue_dead_lettered_total", "queue", "jobs") == 1
	})
	waitFor(t, url, "the panic, the drop and a failed lookup", func(f families) bool {
		return f.value("hydrakit_transport_handler_panics_total", "service", "panicky") == 1 &&
			f.value("hydrakit_transport_messages_dropped_total", "reason", "malformed") == 1 &&
			f.value("hydrakit_discovery_lookup_errors_total", "service", "unreachable") >= 1
	})
	// A lost connection: every subscriber (the Conns, the discovery watch) subscribes anew.
	if err := rdb.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, url, "the resubscriptions", func(f families) bool {
		return f.value("hydrakit_transport_reconnects_total", "service", serviceName) >= 1 &&
			f.value("hydrakit_discovery_watch_reconnects_total", "service", serviceName) >= 1
	})
	inspector, err := queue.NewInspector(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := inspector.Observe(ctx, "jobs"); err != nil {
		t.Fatal(err)
	}
	f := scrapeFamilies(t, url)

	for _, name := range documentedMetrics(t) {
		if _, ok := f[name]; !ok {
			t.Errorf("%s: documented, not scraped", name)
		}
	}
	exact := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hydrakit_transport_requests_total", []string{"service", serviceName}, 3},
		{"hydrakit_transport_replies_total", []string{"service", serviceName}, 3},
		{"hydrakit_transport_request_errors_total", []string{"service", serviceName, "kind", "remote"}, 1},
		{"hydrakit_transport_requests_total", []string{"service", "nobody"}, 1},
		{"hydrakit_transport_replies_total", []string{"service", "nobody"}, 0},
		{"hydrakit_transport_request_errors_total", []string{"service", "nobody", "kind", "no_responders"}, 1},
		{"hydrakit_transport_requests_in_flight", []string{"service", serviceName}, 0},
		{"hydrakit_transport_requests_in_flight", []string{"service", "nobody"}, 0},
		{"hydrakit_transport_messages_handled_total", []string{"service", serviceName}, 3},
		{"hydrakit_transport_messages_handled_total", []string{"service", "panicky"}, 1},
		{"hydrakit_transport_messages_dropped_total", []string{"service", serviceName, "reason", "malformed"}, 1},
		{"hydrakit_transport_handler_panics_total", []string{"service", "panicky"}, 1},
		{"hydrakit_discovery_instances", []string{"service", serviceName}, 1},
		{"hydrakit_queue_enqueued_total", []string{"queue", "jobs"}, jobs + 3},
		{"hydrakit_queue_fetched_total", []string{"queue", "jobs"}, jobs + 5}, // + the retry, + the orphan
		{"hydrakit_queue_completed_total", []string{"queue", "jobs"}, jobs + 3},
		{"hydrakit_queue_retried_total", []string{"queue", "jobs"}, 1},
		{"hydrakit_queue_dead_lettered_total", []string{"queue", "jobs"}, 1},
		{"hydrakit_queue_recovered_total", []string{"queue", "jobs"}, 1},
		{"hydrakit_health_check_up", []string{"check", "redis"}, 1},
		{"hydrakit_health_status", []string{"status", "ok"}, 1},
		{"hydrakit_health_status", []string{"status", "failing"}, 0},
		{"hydrakit_recorder_entries_total", []string{"service", serviceName}, 1},
		{"hydrakit_recorder_dropped_total", []string{"service", "lost"}, 3},
	}
	for _, c := range exact {
		if have := f.value(c.name, c.labels...); have != c.want {
			t.Errorf("%s%q: want %v, have %v", c.name, c.labels, c.want, have)
		}
	}
	for list, want := range map[string]float64{"received": 0, "in_progress": 0, "incomplete": 1, "delayed": 0} {
		if have := f.value("hydrakit_queue_depth", "list", list); have != want {
			t.Errorf("hydrakit_queue_depth{list=%q}: want %v, have %v", list, want, have)
		}
	}
	for _, list := range []string{"received", "in_progress"} {
		if have := f.value("hydrakit_queue_oldest_age_seconds", "list", list); have != 0 {
			t.Errorf("hydrakit_queue_oldest_age_seconds{list=%q}: want 0 (empty), have %v", list, have)
		}
	}
	if have := f.value("hydrakit_discovery_events_total", "service", serviceName); have < 1 {
		t.Errorf("hydrakit_discovery_events_total: want at least 1, have %v", have)
	}
	// One latency observation per request; every PUBLISH round trip carries at least one message.
	for svc, want := range map[string]uint64{serviceName: 3, "nobody": 1} {
		if have := f.metric("hydrakit_transport_request_duration_seconds", "service", svc).GetHistogram().GetSampleCount(); have != want {
			t.Errorf("hydrakit_transport_request_duration_seconds{service=%q}: want %d observations, have %d", svc, want, have)
		}
	}
	h := f.metric("hydrakit_transport_publish_batch_size", "service", serviceName).GetHistogram()
	if h.GetSampleCount() < 3 || h.GetSampleSum() < float64(h.GetSampleCount()) {
		t.Errorf("hydrakit_transport_publish_batch_size{service=%q}: %d round trips, %v messages: want at least 3 replies, ≥ 1 message each",
			serviceName, h.GetSampleCount(), h.GetSampleSum())
	}
}

// documentedMetrics reads the metric names of docs/observability.md's table.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	doc, err := os.Open("../../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	row := regexp.MustCompile("^\\| `(hydrakit_[a-z_]+)` \\|")
	var names []string
	for s := bufio.NewScanner(doc); s.Scan(); {
		if m := row.FindStringSubmatch(s.Text()); m != nil {
			names = append(names, m[1])
		}
	}
	if len(names) < 20 {
		t.Fatalf("found %d metrics in docs/observability.md's table", len(names))
	}
	return names
}

// silentRedis is a go-redis client of a server that accepts connections and never answers.
func silentRedis(t *testing.T) *goredis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	rdb := goredis.NewClient(&goredis.Options{Addr: l.Addr().String(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond,
		ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

type families map[string]*dto.MetricFamily

func scrapeFamilies(t *testing.T, url string) families { return metricstest.Scrape(t, url) }

// waitFor scrapes until ok holds: the counters move on their own goroutines.
func waitFor(t *testing.T, url, what string, ok func(families) bool) {
	t.Helper()
	if !redistest.Poll(func() bool { return ok(scrapeFamilies(t, url)) }) {
		{
			var b strings.Builder
			for name, fam := range scrapeFamilies(t, url) {
				if strings.HasPrefix(name, "hydrakit_") {
					for _, m := range fam.GetMetric() {
						b.WriteString(name + " " + m.String() + "\n")
					}
				}
			}
			t.Fatalf("gave up waiting for %s:\n%s", what, b.String())
		}
	}
}

// metric returns the series of family name with the labels given as name, value pairs (nil when
// there is none).
func (f families) metric(name string, labels ...string) *dto.Metric {
	for _, m := range f[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if match {
			return m
		}
	}
	return nil
}

// value is the counter's or gauge's value (-1 when there is no such series).
func (f families) value(name string, labels ...string) float64 {
	m := f.metric(name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	default:
		return m.GetGauge().GetValue()
	}
}
