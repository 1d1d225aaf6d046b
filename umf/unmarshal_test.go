package umf

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestUnmarshalShortAndLong(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     Message
	}{
		{"short", `{"to":"a:/","frm":"b:/","hdr":{"h":"v"},"mid":"m","rmid":"r","sig":"s","tmo":1.5,"ts":"t","typ":"y","ver":"v","via":"vi:/","fwd":"f:/","bdy":[1],"aut":"au","pri":2,"ttl":3,"for":"fo"}`,
			Message{To: "a:/", From: "b:/", Headers: json.RawMessage(`{"h":"v"}`), MID: "m", RMID: "r", Signature: "s", Timeout: 1.5,
				Timestamp: "t", Type: "y", Version: "v", Via: "vi:/", Forward: "f:/", Body: json.RawMessage(`[1]`), Authorization: "au", Priority: 2, TTL: 3, For: "fo"}},
		{"long", `{"to":"a:/","from":"b:/","headers":{"h":"v"},"mid":"m","rmid":"r","signature":"s","timeout":1.5,"timestamp":"t","type":"y","version":"v","via":"vi:/","forward":"f:/","body":[1],"authorization":"au","priority":2,"ttl":3,"for":"fo"}`,
			Message{To: "a:/", From: "b:/", Headers: json.RawMessage(`{"h":"v"}`), MID: "m", RMID: "r", Signature: "s", Timeout: 1.5,
				Timestamp: "t", Type: "y", Version: "v", Via: "vi:/", Forward: "f:/", Body: json.RawMessage(`[1]`), Authorization: "au", Priority: 2, TTL: 3, For: "fo"}},
		{"rmi ignored, as Node ignores it", `{"rmi":"r"}`, Message{}},
		{"only rmid counts", `{"rmid":"long","rmi":"short"}`, Message{RMID: "long"}},
		{"numeric-string pri and ttl", `{"pri":"-2","ttl":"0.5"}`, Message{Priority: -2, TTL: 0.5}},
		{"empty-string tmo is falsy", `{"tmo":""}`, Message{}},
		{"non-object hdr ignored", `{"to":"a:/","hdr":"x"}`, Message{To: "a:/"}},
		{"array hdr ignored", `{"hdr":[{"a":1}]}`, Message{}},
		{"unusable long headers ignored, short hdr used", `{"headers":5,"hdr":{"a":1}}`, Message{Headers: json.RawMessage(`{"a":1}`)}},
		{"long wins whatever the order", `{"frm":"short","from":"long","bdy":1,"body":2}`, Message{From: "long", Body: json.RawMessage(`2`)}},
		{"falsy long loses", `{"from":"","frm":"short","timeout":0,"tmo":3,"body":false,"bdy":"x"}`, Message{From: "short", Timeout: 3, Body: json.RawMessage(`"x"`)}},
		{"falsy values are absent", `{"to":"","tmo":-0,"bdy":0,"hdr":null,"typ":null,"aut":""}`, Message{}},
		{"null clears an earlier value", `{"to":"a:/","to":null}`, Message{}},
		{"last duplicate wins", `{"to":"a:/","to":"b:/"}`, Message{To: "b:/"}},
		{"body kept verbatim", "{\"bdy\": { \"b\" : 1 ,\"a\":2 } }", Message{Body: json.RawMessage(`{ "b" : 1 ,"a":2 }`)}},
		{"unknown keys ignored", `{"x":{"to":"no"},"to":"a:/","y":[1e999]}`, Message{To: "a:/"}},
		{"escapes decoded", `{"to":"\u0073vc:/\n\"\ud83d\ude00"}`, Message{To: "svc:/\n\"😀"}},
		{"escaped key", `{"\u0074o":"a:/"}`, Message{To: "a:/"}},
		{"whitespace", " \t\r\n{ \"to\" : \"a:/\" } \n", Message{To: "a:/"}},
	} {
		have, err := Unmarshal([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if want, have := mustMarshal(t, &c.want), mustMarshal(t, have); want != have {
			t.Errorf("%s:\nwant %s\nhave %s", c.name, want, have)
		}
		if want, have := string(c.want.Body), string(have.Body); want != have {
			t.Errorf("%s: body want %q, have %q", c.name, want, have)
		}
	}
}

func mustMarshal(t *testing.T, m *Message) string {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUnmarshalRejects(t *testing.T) {
	for _, in := range []string{
		``, ` `, `null`, `[]`, `"to"`, `5`, `{`, `{"to":"a"`, `{"to":"a",}`, `{"to" "a"}`, `{to:"a"}`, `{'to':'a'}`,
		`{"to":5}`, `{"frm":true}`, `{"mid":{}}`, `{"ts":[]}`, `{"pri":true}`, `{"ttl":{}}`, `{"tmo":true}`,
		`{"tmo":"five"}`, `{"tmo":" 5"}`, `{"tmo":"5s"}`, `{"tmo":"0x10"}`, `{"tmo":"Infinity"}`, `{"tmo":"1e400"}`,
		`{"hdr":"\x"}`, `{"hdr":[1,]}`, `{"tmo":1e400}`, `{"bdy":}`, `{"bdy":01}`, `{"bdy":NaN}`,
		`{"bdy":[1,]}`, `{"bdy":"\x"}`, "{\"to\":\"a\tb\"}", `{"bdy":"\ud800\u12"}`, `{} {}`, `{}x`,
		`{"x":tru}`, `{"x":-}`, `{"x":1.}`, `{"x":1e}`, `{"x":.5}`, "\ufeff{}",
	} {
		m, err := Unmarshal([]byte(in))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Unmarshal(%q) = %+v, %v; want ErrMalformed", in, m, err)
		}
	}
}

func TestUnmarshalDoesNotAliasInput(t *testing.T) {
	in := []byte(`{"hdr":{"a":"b"},"bdy":{"x":1}}`)
	m, err := Unmarshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = ' '
	}
	if want, have := `{"a":"b"}{"x":1}`, string(m.Headers)+string(m.Body); want != have {
		t.Fatalf("want %s, have %s", want, have)
	}
}

// A tmo Node sent as a numeric string is read as its number and written back as Node writes it (the
// same string), so that re-serializing and signing give Node's bytes; a changed Timeout is a number.
func TestTimeoutStringKept(t *testing.T) {
	m, err := Unmarshal([]byte(`{"to":"a:/","tmo":"5.0","bdy":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if want, have := 5.0, m.Timeout; want != have {
		t.Fatalf("want %v, have %v", want, have)
	}
	if want, have := `{"to":"a:/","tmo":"5.0","bdy":1}`, mustMarshal(t, m); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
	signed, err := m.appendSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := `{"to":"a:/","timeout":"5.0","body":1}`, string(signed); want != have {
		t.Errorf("signed form: want %s, have %s", want, have)
	}
	r := Reply(m, &Message{MID: "r", Timestamp: "t", Body: json.RawMessage(`2`)})
	if have := mustMarshal(t, r); !strings.Contains(have, `,"tmo":"5.0",`) {
		t.Errorf("reply: want the original's tmo carried as Node carries it, have %s", have)
	}
	escaped, err := Unmarshal([]byte(`{"timeout":"\u0032.5e1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want, have := `{"tmo":"2.5e1"}`, mustMarshal(t, escaped); want != have || escaped.Timeout != 25 {
		t.Errorf("want %s and 25, have %s and %v", want, have, escaped.Timeout)
	}
	m.Timeout = 7
	if want, have := `{"to":"a:/","tmo":7,"bdy":1}`, mustMarshal(t, m); want != have {
		t.Errorf("after a change: want %s, have %s", want, have)
	}
	zero, err := Unmarshal([]byte(`{"tmo":"0"}`)) // truthy in JavaScript: Node keeps it
	if err != nil {
		t.Fatal(err)
	}
	if want, have := `{"tmo":"0"}`, mustMarshal(t, zero); want != have || zero.Timeout != 0 {
		t.Errorf("want %s and no timeout, have %s and %v", want, have, zero.Timeout)
	}
}

func TestMessageJSON(t *testing.T) {
	type envelope struct {
		Msg *Message `json:"msg"`
	}
	in := `{"msg":{"to":"a:/","bdy":{"k":"<&>\u2028"}}}`
	var e envelope
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	if want, have := "a:/", e.Msg.To; want != have {
		t.Fatalf("want %q, have %q", want, have)
	}
	var m Message
	if err := m.UnmarshalJSON([]byte(`{"to":5}`)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("want ErrMalformed, have %v", err)
	}
	out, err := e.Msg.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "{\"to\":\"a:/\",\"bdy\":{\"k\":\"<&>\u2028\"}}", string(out); want != have {
		t.Fatalf("want %s, have %s", want, have)
	}
}

// A Message held by value (in a struct field, a slice, a map) marshals in the UMF short form too,
// as time.Time does, and unmarshals into the same values.
func TestMessageJSONByValue(t *testing.T) {
	type envelope struct {
		Msg  Message   `json:"msg"`
		List []Message `json:"list"`
	}
	e := envelope{Msg: Message{To: "a:/", From: "b:/", Body: json.RawMessage(`{"x":1}`)}, List: []Message{{To: "c:/", Type: "t"}}}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := `{"msg":{"to":"a:/","frm":"b:/","bdy":{"x":1}},"list":[{"to":"c:/","typ":"t"}]}`, string(out); want != have {
		t.Fatalf("want %s, have %s", want, have)
	}
	var back envelope
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if want, have := "b:/", back.Msg.From; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	if want, have := "t", back.List[0].Type; len(back.List) != 1 || want != have {
		t.Errorf("want one message of type %q, have %+v", want, back.List)
	}
	byMap, err := json.Marshal(map[string]Message{"k": {To: "d:/"}})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := `{"k":{"to":"d:/"}}`, string(byMap); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
}

func TestMarshal(t *testing.T) {
	m := &Message{To: "svc:[get]/x", From: "i@me:/", MID: "m", Timestamp: "2026-01-01T00:00:00.000Z", Version: Version,
		Timeout: 1e-7, Headers: json.RawMessage(`{ "b":1, "0":2 }`), Body: json.RawMessage(` {"html":"\u003c/b\u003e","n":1.0} `),
		Priority: 5, TTL: 0.5, For: "x"}
	want := `{"to":"svc:[get]/x","frm":"i@me:/","hdr":{"0":2,"b":1},"mid":"m","tmo":1e-7,"ts":"2026-01-01T00:00:00.000Z",` +
		`"ver":"UMF/1.4.6","bdy":{"html":"</b>","n":1},"pri":5,"ttl":0.5,"for":"x"}`
	if have := mustMarshal(t, m); want != have {
		t.Fatalf("\nwant %s\nhave %s", want, have)
	}
	dst, err := m.AppendMarshal([]byte("prefix "))
	if err != nil || string(dst) != "prefix "+want {
		t.Fatalf("AppendMarshal = %s, %v", dst, err)
	}
	if want, have := `{}`, mustMarshal(t, &Message{}); want != have {
		t.Fatalf("want %s, have %s", want, have)
	}
}

func TestMarshalRejects(t *testing.T) {
	for name, m := range map[string]*Message{
		"invalid body":      {Body: json.RawMessage(`{"a":}`)},
		"whitespace body":   {Body: json.RawMessage(` `)},
		"trailing body":     {Body: json.RawMessage(`1 2`)},
		"non-object hdr":    {Headers: json.RawMessage(`[1]`)},
		"invalid hdr":       {Headers: json.RawMessage(`{"a"}`)},
		"NaN timeout":       {Timeout: math.NaN()},
		"infinite priority": {Priority: math.Inf(1)},
	} {
		if b, err := m.Marshal(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Marshal = %s, %v; want ErrMalformed", name, b, err)
		}
		if b, err := m.AppendMarshal([]byte("keep")); string(b) != "keep" || err == nil {
			t.Errorf("%s: AppendMarshal = %q, %v; want dst unchanged and an error", name, b, err)
		}
	}
}

func TestNew(t *testing.T) {
	m, err := New("svc:/x", "i@me:/", map[string]any{"b": "<&>\u2028", "10": 1, "2": 2})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "{\"2\":2,\"10\":1,\"b\":\"<&>\u2028\"}", string(m.Body); want != have {
		t.Errorf("body want %s, have %s", want, have)
	}
	if len(m.MID) != 36 || m.MID[14] != '4' || m.Version != Version || len(m.Timestamp) != len("2006-01-02T15:04:05.000Z") ||
		!strings.HasSuffix(m.Timestamp, "Z") {
		t.Errorf("New did not fill mid/ts/ver: %+v", m)
	}
	if m2, _ := New("a:/", "b:/", nil); m2.Body != nil || m2.MID == m.MID {
		t.Errorf("New with nil body: %+v", m2)
	}
	if _, err := New("a:/", "b:/", func() {}); !errors.Is(err, ErrMalformed) {
		t.Errorf("unencodable body: want ErrMalformed, have %v", err)
	}
}

func TestBody(t *testing.T) {
	var m Message
	var v struct{ A int }
	if err := m.DecodeBody(&v); !errors.Is(err, ErrMalformed) {
		t.Errorf("no body: want ErrMalformed, have %v", err)
	}
	if err := m.SetBody(struct{ A int }{7}); err != nil {
		t.Fatal(err)
	}
	if err := m.DecodeBody(&v); err != nil || v.A != 7 {
		t.Errorf("DecodeBody = %+v, %v", v, err)
	}
	if err := m.DecodeBody(&[]int{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong type: want ErrMalformed, have %v", err)
	}
}

func TestHeaders(t *testing.T) {
	var m Message
	if _, ok := m.Header("x"); ok {
		t.Error("Header on absent hdr reported a value")
	}
	for _, kv := range [][2]string{{"b", "1"}, {"a", "2"}, {"7", "<&>"}, {"b", "3"}} {
		if err := m.SetHeader(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if want, have := `{"7":"<&>","b":"3","a":"2"}`, string(m.Headers); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
	if v, ok := m.Header("b"); !ok || v != "3" {
		t.Errorf("Header(b) = %q, %v", v, ok)
	}
	m.Headers = json.RawMessage(`{"n":1,"s":"x","s":"\u00e9","d":"a","d":2}`)
	for name, want := range map[string]struct {
		v  string
		ok bool
	}{"n": {"", false}, "s": {"é", true}, "d": {"", false}, "missing": {"", false}} {
		if v, ok := m.Header(name); v != want.v || ok != want.ok {
			t.Errorf("Header(%s) = %q, %v; want %q, %v", name, v, ok, want.v, want.ok)
		}
	}
	m.Headers = json.RawMessage(`[1]`)
	if err := m.SetHeader("a", "b"); !errors.Is(err, ErrMalformed) {
		t.Errorf("SetHeader on array hdr: want ErrMalformed, have %v", err)
	}
	m.Headers = json.RawMessage(`{"a":`)
	if err := m.SetHeader("a", "b"); !errors.Is(err, ErrMalformed) {
		t.Errorf("SetHeader on invalid hdr: want ErrMalformed, have %v", err)
	}
}

// A message's first header, as a trace context is, costs one allocation: the hdr itself.
func TestFirstHeaderAllocatesOnce(t *testing.T) {
	value := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	m := &Message{}
	if have := testing.AllocsPerRun(100, func() {
		m.Headers = nil
		if err := m.SetHeader("traceparent", value); err != nil {
			t.Fatal(err)
		}
	}); have != 1 {
		t.Errorf("allocations: want 1, have %v", have)
	}
	if want, have := `{"traceparent":"`+value+`"}`, string(m.Headers); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
}
