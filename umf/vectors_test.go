package umf

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// nodeVectors is testdata/node-vectors.json, written by integration/node/vectors.js with the real
// npm hydra@1.9.3. Every "out" is Node's own output.
type nodeVectors struct {
	Hydra     string
	Normalize []struct{ Name, In, Out string }
	UTF8      []struct{ Name, InHex, Out string }
	Numbers   []struct{ Bits, Text, Out string }
	ShortForm []struct{ Name, In, Out string }
	Sign      []struct {
		Name, Secret, In, Signed, Signature, Out string
		Verifiable                               bool
	}
	Reply []struct{ Name, Orig, Resp, Out string }
	Route []struct {
		In  string
		Out struct {
			Instance, SubID, ServiceName, HTTPMethod, APIRoute, Error string
		}
	} `json:"parseRoute"`
}

func loadVectors(t *testing.T) nodeVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/node-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v nodeVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if want, have := "1.9.3", v.Hydra; want != have {
		t.Fatalf("vectors from hydra %s, want %s", have, want)
	}
	return v
}

func TestNodeNormalize(t *testing.T) {
	v := loadVectors(t)
	if len(v.Normalize) < 20 || len(v.UTF8) < 5 {
		t.Fatalf("too few vectors: %d normalize, %d utf8", len(v.Normalize), len(v.UTF8))
	}
	for _, c := range v.Normalize {
		have, err := Normalize([]byte(c.In))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if string(have) != c.Out {
			t.Errorf("%s:\nwant %s\nhave %s", c.Name, c.Out, have)
		}
	}
	for _, c := range v.UTF8 {
		in, err := hex.DecodeString(c.InHex)
		if err != nil {
			t.Fatal(err)
		}
		if have, err := Normalize(in); err != nil || string(have) != c.Out {
			t.Errorf("%s: want %q, have %q (%v)", c.Name, c.Out, have, err)
		}
	}
}

func TestNodeNumbers(t *testing.T) {
	v := loadVectors(t)
	if len(v.Numbers) < 2000 {
		t.Fatalf("only %d number vectors", len(v.Numbers))
	}
	for _, c := range v.Numbers {
		bits, err := strconv.ParseUint(c.Bits, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if have := string(appendJSNumber(nil, math.Float64frombits(bits))); have != c.Out {
			t.Errorf("bits %s: want %s, have %s", c.Bits, c.Out, have)
		}
		if have, err := Normalize([]byte(c.Text)); err != nil || string(have) != c.Out {
			t.Errorf("text %s: want %s, have %s (%v)", c.Text, c.Out, have, err)
		}
	}
}

func TestNodeShortForm(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.ShortForm {
		m, err := Unmarshal([]byte(c.In))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if m.Version == "" {
			m.Version = Version // Node's createMessage fills ver (and mid, ts: the vectors carry those)
		}
		have, err := m.Marshal()
		if err != nil || string(have) != c.Out {
			t.Errorf("%s:\nwant %s\nhave %s (%v)", c.Name, c.Out, have, err)
		}
	}
}

func TestNodeSign(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Sign {
		m, err := Unmarshal([]byte(c.In))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		m.Version = Version // createMessage fills ver, as New does
		if signed, err := m.appendSigned(nil); err != nil || string(signed) != c.Signed {
			t.Errorf("%s: signed text\nwant %s\nhave %s (%v)", c.Name, c.Signed, signed, err)
		}
		if err := Sign(m, []byte(c.Secret)); err != nil {
			t.Fatal(err)
		}
		if want, have := c.Signature, m.Signature; want != have {
			t.Errorf("%s: signature want %s, have %s", c.Name, want, have)
		}
		if have, err := m.Marshal(); err != nil || string(have) != c.Out {
			t.Errorf("%s:\nwant %s\nhave %s (%v)", c.Name, c.Out, have, err)
		}
		// The message exactly as Node wrote it verifies.
		wire, err := Unmarshal([]byte(c.Out))
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(wire, []byte(c.Secret)); (err == nil) != c.Verifiable {
			t.Errorf("%s: Verify of Node's message = %v; Node can verify it: %v", c.Name, err, c.Verifiable)
		}
	}
}

func TestNodeReply(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Reply {
		orig, err := Unmarshal([]byte(c.Orig))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := Unmarshal([]byte(c.Resp))
		if err != nil {
			t.Fatal(err)
		}
		want := c.Out
		if orig.Signature != "" { // the deliberate difference: Node carries the stale sig
			want = strings.Replace(want, `"sig":"`+orig.Signature+`",`, "", 1)
		}
		reply := Reply(orig, resp)
		have, err := reply.Marshal()
		if err != nil || string(have) != want {
			t.Errorf("%s:\nwant %s\nhave %s (%v)", c.Name, want, have, err)
		}
		to, appended, err := AppendReply([]byte("prefix"), orig, resp)
		if err != nil || string(appended) != "prefix"+want || to != reply.To {
			t.Errorf("%s: AppendReply:\nwant %s to %s\nhave %s to %s (%v)", c.Name, want, reply.To, appended, to, err)
		}
	}
}

func TestNodeParseRoute(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Route {
		a, err := ParseAddress(c.In)
		if c.Out.Error != "" {
			if err == nil {
				t.Errorf("%q: Node says %q, ParseAddress accepted it as %+v", c.In, c.Out.Error, a)
			}
			continue
		}
		want := Address{Instance: c.Out.Instance, SubID: c.Out.SubID, Service: c.Out.ServiceName,
			Method: c.Out.HTTPMethod, Route: c.Out.APIRoute}
		if err != nil || a != want {
			t.Errorf("%q: want %+v, have %+v (%v)", c.In, want, a, err)
		}
	}
}
