package prom

import (
	"bufio"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hydrakit/hydrakit/metrics"
)

// The table of docs/observability.md lists exactly the metrics New registers, with their types and
// labels, in the same order: the docs cannot drift from the code.
func TestDocsTableMatchesMetrics(t *testing.T) {
	b := &builder{reg: prometheus.NewRegistry()}
	build(b, DefaultDurationBuckets)
	if b.err != nil {
		t.Fatal(b.err)
	}
	f, err := os.Open("../../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var documented []spec
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "| `hydrakit_") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Fatalf("short row: %s", line)
		}
		var labels []string
		for _, l := range strings.Split(cells[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				labels = append(labels, l)
			}
		}
		documented = append(documented, spec{
			name: strings.Trim(strings.TrimSpace(cells[1]), "`"), kind: strings.TrimSpace(cells[2]), labels: labels,
		})
	}
	if !reflect.DeepEqual(b.specs, documented) {
		t.Errorf("docs/observability.md's table and the registered metrics differ:\nregistered %v\ndocumented %v", b.specs, documented)
	}
}

// New fills every metric of the Set.
func TestNewFillsEveryMetric(t *testing.T) {
	set, err := New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	groups := reflect.ValueOf(set).Elem()
	for i := range groups.NumField() {
		for j := range groups.Field(i).NumField() {
			if groups.Field(i).Field(j).IsNil() {
				t.Errorf("%s.%s is nil", groups.Type().Field(i).Name, groups.Field(i).Type().Field(j).Name)
			}
		}
	}
	var _ *metrics.Set = set
}

func TestNewRefuses(t *testing.T) {
	reg := prometheus.NewRegistry()
	for name, f := range map[string]func() error{
		"nil registerer":  func() error { _, err := New(nil); return err },
		"nil option":      func() error { _, err := New(reg, nil); return err },
		"no buckets":      func() error { _, err := New(reg, DurationBuckets()); return err },
		"falling buckets": func() error { _, err := New(reg, DurationBuckets(1, 0.5)); return err },
	} {
		if err := f(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, have %v", name, err)
		}
	}
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	_, err := New(reg)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("registering twice: want AlreadyRegisteredError, have %v", err)
	}
}

// A metric bound by With to all its labels updates without allocating (decision 42); one still
// missing a label resolves it on each update, with the missing value empty.
func TestBoundUpdatesDoNotAllocate(t *testing.T) {
	reg := prometheus.NewRegistry()
	set, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Transport
	requests := tr.Requests.With("service", "svc")
	inFlight := tr.InFlight.With("service", "svc")
	duration := tr.RequestDuration.With("service", "svc")
	if have := testing.AllocsPerRun(100, func() {
		requests.Add(1)
		inFlight.Add(1)
		inFlight.Set(0)
		duration.Observe(0.001)
	}); have != 0 {
		t.Errorf("allocations per bound update: want 0, have %v", have)
	}
	tr.Errors.With("service", "svc").Add(1) // kind not given
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				values[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				values[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"hydrakit_transport_requests_total,service=svc":             101,
		"hydrakit_transport_request_duration_seconds,service=svc":   101,
		"hydrakit_transport_request_errors_total,kind=,service=svc": 1,
	} {
		if have := values[key]; want != have {
			t.Errorf("%s: want %v, have %v (all: %v)", key, want, have, values)
		}
	}
}
