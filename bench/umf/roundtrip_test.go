package umf

import (
	"strconv"
	"testing"

	"github.com/hydrakit/hydrakit/umf"
)

// BenchmarkRoundTrip is the UMF work of one request/reply through the transport, without Redis:
// the caller encodes a request, the responder decodes it and its body, builds and encodes the
// reply, and the caller decodes that. It is what the codec adds to every round trip.
func BenchmarkRoundTrip(b *testing.B) {
	type sumRequest struct{ A, B int }
	b.ReportAllocs()
	var buf []byte
	i := 0
	for b.Loop() {
		i++
		req := &umf.Message{To: "2f8bd6a43a9c4bbb9dbe4bb8a5f0c2e1@calc:/sum", From: "9a1e0c1f7d2b4e5a8c3d6f0b1a2e3c4d@caller:/",
			MID: umf.NewMID(), Timestamp: "2026-11-25T18:00:00.000Z", Version: umf.Version, Timeout: 9.999}
		if err := req.SetBody(sumRequest{A: i, B: 1}); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, err = req.AppendMarshal(buf[:0]); err != nil {
			b.Fatal(err)
		}
		in, err := umf.Unmarshal(buf)
		if err != nil {
			b.Fatal(err)
		}
		var r sumRequest
		if err := in.DecodeBody(&r); err != nil {
			b.Fatal(err)
		}
		resp := &umf.Message{MID: umf.NewMID(), Timestamp: "2026-11-25T18:00:00.001Z", Version: umf.Version}
		if err := resp.SetBody(r.A + r.B); err != nil {
			b.Fatal(err)
		}
		if buf, err = umf.Reply(in, resp).AppendMarshal(buf[:0]); err != nil {
			b.Fatal(err)
		}
		reply, err := umf.Unmarshal(buf)
		if err != nil {
			b.Fatal(err)
		}
		if sum, err := strconv.Atoi(string(reply.Body)); err != nil || sum != i+1 {
			b.Fatalf("sum %d, %v", sum, err)
		}
	}
}
