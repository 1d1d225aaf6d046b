package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hydrakit/hydrakit/internal/metricstest"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

// worker with -metrics serves /metrics; after n messages, one failing once, the queue's counters
// match: n+1 fetched, n completed, 1 retried, nothing dead, and the lists read empty at the scrape.
func TestMetricsUnderTraffic(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	const svc, n = "metered", 9
	p, err := queue.NewProducer(redistest.Fleet(t, rdb))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m, err := umf.New(svc+":/", "test:/", map[string]int{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-redis", srv.URL() + "/0", "-name", svc, "-fail-every", strconv.Itoa(n),
			"-workers", "1", "-metrics", "127.0.0.1:0"}, out)
	}()
	urlLine := regexp.MustCompile(`url=(\S+)`)
	var url string
	values := map[string]float64{}
	// A scrape reads the lists before it gathers the counters, so the last completion can be counted
	// while the scrape still saw it in progress: wait for a scrape that saw the end state.
	if !redistest.Poll(func() bool {
		if url == "" {
			m := urlLine.FindStringSubmatch(out.String())
			if m == nil {
				return false
			}
			url = m[1]
		}
		values = scrape(t, url, svc)
		return values["hydrakit_queue_completed_total"] == n && values[`hydrakit_queue_depth{list="in_progress"}`] == 0
	}) {
		t.Fatalf("gave up waiting for %d completions: %v\n%s", n, values, out)
	}
	for name, want := range map[string]float64{
		"hydrakit_queue_fetched_total": n + 1, "hydrakit_queue_retried_total": 1, "hydrakit_queue_dead_lettered_total": 0,
		`hydrakit_queue_depth{list="received"}`: 0, `hydrakit_queue_depth{list="in_progress"}`: 0,
		`hydrakit_queue_depth{list="incomplete"}`: 0, `hydrakit_queue_oldest_age_seconds{list="received"}`: 0,
		"hydrakit_recorder_entries_total":         1, // the warning of the failure on purpose
		`hydrakit_health_check_up{check="redis"}`: 1, "hydrakit_discovery_instances": -1,
	} {
		have, ok := values[name]
		if !ok {
			have = -1 // not exported: never updated
		}
		if have != want {
			t.Errorf("%s: want %v, have %v", name, want, have)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// scrape returns the values of svc's series, named as name or name{label="…"} for the label other than
// queue and service.
func scrape(t *testing.T, url, svc string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, f := range metricstest.Scrape(t, url) {
		if !strings.HasPrefix(name, "hydrakit_") {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "queue", "service":
					if l.GetValue() != svc {
						continue series
					}
				default:
					key = name + "{" + l.GetName() + "=" + strconv.Quote(l.GetValue()) + "}"
				}
			}
			if m.Counter != nil {
				out[key] = m.GetCounter().GetValue()
			} else {
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
