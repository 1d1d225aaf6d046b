package queue

import (
	"encoding/json"
	"testing"
)

func TestSetJSONField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{}`, `{"reason":"r"}`},
		{`{"a":1,"reason":"old","b":[1,2]}`, `{"a":1,"reason":"r","b":[1,2]}`},
		{` { "2" : {"x":"<>"} , "a" : null } `, `{"2":{"x":"<>"},"a":null,"reason":"r"}`},
	} {
		have, err := setJSONField([]byte(tc.in), "reason", "r")
		must(t, err)
		equal(t, tc.want, string(have))
	}
	for _, bad := range []string{`[]`, `"s"`, `{`, `{"a":1}x`, `{"a":}`, ``} {
		if _, err := setJSONField([]byte(bad), "reason", "r"); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestDeleteJSONField(t *testing.T) {
	have, found, err := deleteJSONField([]byte(`{"a":1,"k":"v","b":2}`), "k")
	must(t, err)
	equal(t, true, found)
	equal(t, `{"a":1,"b":2}`, string(have))
	_, found, err = deleteJSONField([]byte(`{"a":1}`), "k")
	must(t, err)
	equal(t, false, found)
}

// FuzzSetJSONField feeds message bodies from the network to the dead-letter rewrite: it must
// never panic, and whatever it accepts must come out as valid JSON holding the reason.
func FuzzSetJSONField(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"reason":2,"1":[]}`, `[1]`, `{"a":"\u2028"}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := setJSONField(in, "reason", "why")
		if err != nil {
			return
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%q → invalid %q: %v", in, out, err)
		}
		if v["reason"] != "why" {
			t.Fatalf("%q → %q has no reason", in, out)
		}
	})
}
