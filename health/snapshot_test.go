package health

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestNodeNames(t *testing.T) {
	for _, tc := range []struct{ goName, want string }{
		{"amd64", "x64"}, {"386", "ia32"}, {"arm64", "arm64"}, {"arm", "arm"}, {"ppc64le", "ppc64"},
		{"s390x", "s390x"}, {"mipsle", "mipsel"},
	} {
		if have := nodeArch(tc.goName); tc.want != have {
			t.Errorf("nodeArch(%q): want %q, have %q", tc.goName, tc.want, have)
		}
	}
	for _, tc := range []struct{ goName, want string }{
		{"linux", "linux"}, {"darwin", "darwin"}, {"windows", "win32"}, {"freebsd", "freebsd"},
		{"illumos", "sunos"}, {"solaris", "sunos"},
	} {
		if have := nodePlatform(tc.goName); tc.want != have {
			t.Errorf("nodePlatform(%q): want %q, have %q", tc.goName, tc.want, have)
		}
	}
}

func TestSampleProcess(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	s := sampleProcess(now, "box")
	if want, have := "2026-01-02T03:04:05.678Z", s.SampledOn; want != have {
		t.Errorf("sampledOn: want %q, have %q", want, have)
	}
	if want, have := os.Getpid(), s.ProcessID; want != have {
		t.Errorf("processID: want %d, have %d", want, have)
	}
	if want, have := runtime.Version(), s.NodeVersion; want != have {
		t.Errorf("nodeVersion: want %q, have %q", want, have)
	}
	m := s.Memory
	if m.RSS == 0 || m.HeapTotal == 0 || m.HeapUsed == 0 || m.External == 0 {
		t.Errorf("memory figures must all be set: %+v", m)
	}
	if m.HeapUsed > m.HeapTotal {
		t.Errorf("heapUsed %d exceeds heapTotal %d", m.HeapUsed, m.HeapTotal)
	}
	if s.Goroutines < 1 || s.UptimeSeconds <= 0 || s.Architecture == "" || s.Platform == "" {
		t.Errorf("process figures missing: %+v", s)
	}
	runtime.GC()
	if s := sampleProcess(time.Now(), "box"); s.GC.Count == 0 || s.GC.PauseTotalMs <= 0 {
		t.Errorf("gc figures after a GC: %+v", s.GC)
	}
}

// The snapshot's first keys are Node's _getHealth fields, in Node's order, with Node's JSON types.
func TestSnapshotNodeFields(t *testing.T) {
	body, err := json.Marshal(sampleProcess(time.Now(), "box"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	node := []string{"updatedOn", "serviceName", "instanceID", "hostName", "sampledOn", "processID",
		"architecture", "platform", "nodeVersion", "memory", "uptimeSeconds"}
	if len(keys) < len(node) {
		t.Fatalf("keys %v", keys)
	}
	for i, want := range node {
		if have := keys[i]; want != have {
			t.Errorf("key %d: want %q, have %q (all: %v)", i, want, have, keys)
		}
	}
	var typed struct {
		ProcessID     float64            `json:"processID"`
		Memory        map[string]float64 `json:"memory"`
		UptimeSeconds float64            `json:"uptimeSeconds"`
	}
	if err := json.Unmarshal(body, &typed); err != nil {
		t.Fatalf("Node reads numbers here: %v", err)
	}
	for _, k := range []string{"rss", "heapTotal", "heapUsed", "external"} {
		if _, ok := typed.Memory[k]; !ok {
			t.Errorf("memory.%s missing: %s", k, body)
		}
	}
}
