package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/hydrakit/hydrakit/internal/metricstest"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// hmr with -metrics serves /metrics, and after known traffic every metric a relay reports has the
// value that traffic explains: one handled message and one PUBLISH per request, one malformed drop,
// one flight-recorder entry for the reply that could not be sent, the health check up.
func TestMetricsUnderTraffic(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-redis", srv.URL() + "/0", "-name", "hmr", "-metrics", "127.0.0.1:0"}, pw, io.Discard)
		_ = pw.Close()
	}()
	out := bufio.NewReader(pr)
	url := strings.TrimSpace(strings.TrimPrefix(readLine(t, out), "metrics "))
	id := strings.TrimSpace(strings.TrimPrefix(readLine(t, out), "ready "))
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	caller, err := redispubsub.NewConn(redistest.Fleet(t, rdb), "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	const n = 25
	for i := range n {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := caller.Request(rctx, &umf.Message{To: id + "@hmr:/echo", Body: []byte(`{"i":` + string(rune('0'+i%10)) + `}`)})
		rcancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	channel := keyspace.New().InstanceChannel("hmr", id)
	if err := rdb.Publish(ctx, channel, "not json").Err(); err != nil {
		t.Fatal(err)
	}
	// No instance of "nobody": the reply fails and hmr logs an error, which its recorder keeps.
	if err := caller.Send(ctx, &umf.Message{To: id + "@hmr:/echo", From: "nobody:/", MID: "lost", Body: []byte(`1`)}); err != nil {
		t.Fatal(err)
	}

	// The drop and the failed reply come after the requests on the same subscription: once they
	// are counted, so is everything before them.
	var fams map[string]*dto.MetricFamily
	redistest.Eventually(t, "the drop and the recorder entry to be counted", func() bool {
		fams = metricstest.Scrape(t, url)
		return value(fams, "hydrakit_recorder_entries_total", "service", "hmr") == 1 &&
			value(fams, "hydrakit_transport_messages_dropped_total", "reason", "malformed") == 1
	})
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"hydrakit_transport_messages_handled_total", "service", "hmr", n + 1},
		{"hydrakit_transport_messages_dropped_total", "reason", "malformed", 1},
		{"hydrakit_health_check_up", "check", "redis", 1},
		{"hydrakit_health_status", "status", "ok", 1},
		{"hydrakit_health_status", "status", "failing", 0},
		{"hydrakit_recorder_entries_total", "service", "hmr", 1},
	} {
		if have := value(fams, c.name, c.label, c.value); have != c.want {
			t.Errorf("%s{%s=%q}: want %v, have %v", c.name, c.label, c.value, c.want, have)
		}
	}
	// One reply per request, each a PUBLISH of its own (the requests came one at a time), besides the
	// Conn's subscription probe, one a second.
	h := metric(fams, "hydrakit_transport_publish_batch_size", "service", "hmr").GetHistogram()
	probes := h.GetSampleCount() - n
	if maxProbes := uint64(time.Since(start).Seconds()) + 2; probes > maxProbes {
		t.Errorf("publish batches: want %d replies and at most %d probes, have %d", n, maxProbes, h.GetSampleCount())
	}
	if want, have := float64(h.GetSampleCount()), h.GetSampleSum(); want != have {
		t.Errorf("messages published: want %v (one per round trip), have %v", want, have)
	}
	for _, absent := range []string{"hydrakit_transport_handler_panics_total", "hydrakit_transport_reconnects_total"} {
		if v := value(fams, absent, "service", "hmr"); v > 0 { // -1: never counted, so not exported
			t.Errorf("%s: want 0, have %v", absent, v)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hmr did not stop")
	}
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// metric returns the series of family name with label=value (nil when there is none).
func metric(fams map[string]*dto.MetricFamily, name, label, value string) *dto.Metric {
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m
			}
		}
	}
	return nil
}

// value is the counter's or gauge's value (-1 when there is no such series).
func value(fams map[string]*dto.MetricFamily, name, label, labelValue string) float64 {
	m := metric(fams, name, label, labelValue)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	default:
		return m.GetGauge().GetValue()
	}
}
