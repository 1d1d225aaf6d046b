// Package umf benchmarks the UMF codec next to an encoding/json baseline measured in the same run:
// a struct with the same short-form tags and a json.RawMessage body, marshaled and unmarshaled by the
// standard library (which neither orders keys like JavaScript nor leaves HTML and U+2028 unescaped,
// so it does less work than Hydra compatibility needs). The x-json metric is umf ns/op divided by the
// baseline's ns/op: below 1 is faster.
package umf

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

// stdMessage is what a plain encoding/json implementation of the short form would use.
type stdMessage struct {
	To        string          `json:"to,omitempty"`
	From      string          `json:"frm,omitempty"`
	Headers   json.RawMessage `json:"hdr,omitempty"`
	MID       string          `json:"mid,omitempty"`
	RMID      string          `json:"rmid,omitempty"`
	Signature string          `json:"sig,omitempty"`
	Timeout   float64         `json:"tmo,omitempty"`
	Timestamp string          `json:"ts,omitempty"`
	Type      string          `json:"typ,omitempty"`
	Version   string          `json:"ver,omitempty"`
	Via       string          `json:"via,omitempty"`
	Forward   string          `json:"fwd,omitempty"`
	Body      json.RawMessage `json:"bdy,omitempty"`
	Auth      string          `json:"aut,omitempty"`
}

// small is a typical request: addressed to one instance's route, replying to an instance.
var small = &umf.Message{
	To: "inventory:[get]/v1/items/:id", From: "7c9e6679742540de944be07fc1f90ae7@shop:/",
	MID: "a7f3c1d2-5b4e-4f6a-9c8d-0e1f2a3b4c5d", Timestamp: "2026-11-25T18:00:00.000Z", Version: umf.Version,
	Body: json.RawMessage(`{"id":1234,"name":"widget","tags":["blue","small"],"price":12.5}`),
}

// traced is small carrying its trace context, as a traced request does.
var traced = func() *umf.Message {
	m := *small
	m.Headers = json.RawMessage(`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}`)
	return &m
}()

func stdOf(m *umf.Message) *stdMessage {
	return &stdMessage{To: m.To, From: m.From, Headers: m.Headers, MID: m.MID, Timestamp: m.Timestamp,
		Version: m.Version, Body: m.Body}
}

var baseline sync.Map // benchmark name → baseline ns/op

func nsPerOp(b *testing.B, start time.Time) float64 {
	return float64(time.Since(start).Nanoseconds()) / float64(b.N)
}

// pair runs the baseline and then the umf variant, reporting the ratio on the latter.
func pair(b *testing.B, name string, std, own func(b *testing.B)) {
	b.Run(name+"/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		std(b)
		baseline.Store(name, nsPerOp(b, start))
	})
	b.Run(name+"/umf", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		own(b)
		if base, ok := baseline.Load(name); ok {
			b.ReportMetric(nsPerOp(b, start)/base.(float64), "x-json")
		}
	})
}

func BenchmarkMarshal(b *testing.B) {
	s := stdOf(small)
	pair(b, "small", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
	}, func(b *testing.B) {
		for b.Loop() {
			if _, err := small.Marshal(); err != nil {
				b.Fatal(err)
			}
		}
	})
	buf := make([]byte, 0, 512)
	for name, m := range map[string]*umf.Message{"small-append": small, "traced-append": traced} {
		s := stdOf(m)
		pair(b, name, func(b *testing.B) {
			for b.Loop() {
				if _, err := json.Marshal(s); err != nil {
					b.Fatal(err)
				}
			}
		}, func(b *testing.B) {
			for b.Loop() {
				var err error
				if buf, err = m.AppendMarshal(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	wire, err := small.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	pair(b, "small", func(b *testing.B) {
		for b.Loop() {
			var m stdMessage
			if err := json.Unmarshal(wire, &m); err != nil {
				b.Fatal(err)
			}
		}
	}, func(b *testing.B) {
		for b.Loop() {
			if _, err := umf.Unmarshal(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	var big []any
	for i := range 20 {
		big = append(big, map[string]any{"id": i, "name": "item <" + string(rune('a'+i)) + ">", "price": float64(i) * 1.25,
			"tags": []string{"x", "y"}, "ok": i%2 == 0})
	}
	var m umf.Message
	if err := m.SetBody(big); err != nil {
		b.Fatal(err)
	}
	body := []byte(m.Body)
	b.Logf("body of %d bytes", len(body))
	pair(b, "1KB", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	}, func(b *testing.B) {
		for b.Loop() {
			if _, err := umf.Normalize(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSign(b *testing.B) {
	secret := []byte("shared secret")
	m := *small
	b.ReportAllocs()
	for b.Loop() {
		if err := umf.Sign(&m, secret); err != nil {
			b.Fatal(err)
		}
	}
}
