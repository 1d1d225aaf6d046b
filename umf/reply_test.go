package umf

import (
	"encoding/json"
	"testing"
)

func TestReplyDefaultsAndDifferences(t *testing.T) {
	orig := &Message{To: "svc:/work", From: "i1@caller:/", MID: "m1", Signature: "stale", Priority: 3, TTL: 4, For: "f",
		Body: json.RawMessage(`{"q":1}`), Headers: json.RawMessage(`{"h":"v"}`)}
	resp := &Message{Body: json.RawMessage(`{"a":2}`), TTL: 9}
	before, _ := orig.Marshal()
	r := Reply(orig, resp)
	if r.To != "i1@caller:/" || r.From != "svc:/work" || r.RMID != "m1" {
		t.Errorf("addressing: %+v", r)
	}
	if r.MID == "" || r.MID == orig.MID || r.Timestamp == "" || r.Version != Version {
		t.Errorf("reply needs a fresh mid, ts and ver: %+v", r)
	}
	if r.Signature != "" || r.Priority != 0 || r.TTL != 9 || r.For != "" {
		t.Errorf("sig/pri/ttl/for: %+v", r)
	}
	if string(r.Body) != `{"a":2}` || string(r.Headers) != `{"h":"v"}` {
		t.Errorf("body/headers: %s %s", r.Body, r.Headers)
	}
	r.Headers[2] = 'X' // the reply owns its buffers
	if after, _ := orig.Marshal(); string(after) != string(before) {
		t.Errorf("Reply modified orig:\n%s\n%s", before, after)
	}
	falsy := Reply(&Message{From: "c:/", Body: json.RawMessage(`0`)}, &Message{})
	if falsy.Body != nil {
		t.Errorf("a falsy original body is dropped, as Node's createMessage does: %s", falsy.Body)
	}
}
