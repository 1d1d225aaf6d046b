package umf

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

var fuzzMessages = []string{
	`{"to":"svc:/","frm":"i@c:/","mid":"m","ts":"2026-01-01T00:00:00.000Z","ver":"UMF/1.4.6","bdy":{"a":[1,2.5e-9]}}`,
	`{"to":"a:/","from":"b:/","frm":"c:/","headers":{"x":"y","1":2},"rmi":"r","tmo":1e21,"body":0,"bdy":"s"}`,
	`{"to":"\ud800\u2028<>","typ":"","pri":-0,"ttl":3,"for":"x","aut":null,"hdr":{}}`,
	`{"bdy":{"b":1,"a":2,"b":3,"10":[],"2":{}},"unknown":[true,false,null]}`,
	`  {}  `,
	`{"to":5}`,
	`[1]`,
	`{"to":"a:/","tmo":"5","hdr":"x","rmi":"r","bdy":{}}`,
	`{"timeout":"0","tmo":3,"pri":"-0","ttl":"1e2","headers":[1],"hdr":{"a":1}}`,
	`{"tmo":"\u0035.50","from":"b:/"}`,
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzMessages {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m1, err := Unmarshal(data)
		if err != nil {
			return
		}
		b1, err := m1.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an unmarshaled message: %v", err)
		}
		// A Node queue consumer LREMs JSON.stringify(JSON.parse(raw)): our bytes must be that fixed point.
		if canon, err := Normalize(b1); err != nil || !bytes.Equal(canon, b1) {
			t.Fatalf("Marshal wrote %s, JSON.stringify(JSON.parse()) of it is %s (%v)", b1, canon, err)
		}
		m2, err := Unmarshal(b1)
		if err != nil {
			t.Fatalf("Unmarshal of %s: %v", b1, err)
		}
		// Headers and Body stay verbatim in m1; compare them in canonical form.
		want := *m1
		if want.Headers != nil {
			want.Headers, _ = Normalize(want.Headers)
		}
		if want.Body != nil {
			want.Body, _ = Normalize(want.Body)
		}
		if !reflect.DeepEqual(&want, m2) {
			t.Fatalf("round trip changed the message:\nwant %+v\nhave %+v", want, m2)
		}
		if b2, err := m2.Marshal(); err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("Marshal is not stable:\n%s\n%s (%v)", b1, b2, err)
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"svc:/p", "svc:[get]/p", "iid@svc:[POST]/v1/x/:id", "iid-sub@svc:/",
		"cid@client:/", "hydra-router:/refresh", "svc:[get/x", "@svc:/", "svc", ":/", "a@b@c:[]x", "a-b-c@s:[x]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.String())
		if err != nil {
			t.Fatalf("%q parsed as %+v, but its String %q does not parse: %v", s, a, a.String(), err)
		}
		if a != b {
			t.Fatalf("%q: parse→format→parse changed %+v into %+v", s, a, b)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzMessages {
		f.Add([]byte(s))
	}
	for _, s := range []string{`1e400`, `-0`, `"\ud83d\ude00\udc00"`, `{"1":1,"0":0,"0":2}`, "\"\xed\xa0\x80\xff\"", `[01]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Normalize(data)
		if json.Valid(data) && len(data) < 1<<16 && err != nil {
			t.Fatalf("encoding/json accepts %q, Normalize does not: %v", data, err)
		}
		if skipErr := skipAll(data); (err == nil) != (skipErr == nil) {
			t.Fatalf("%q: Normalize error %v, skip (Unmarshal's check) error %v", data, err, skipErr)
		}
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Normalize(%q) = %q is not valid JSON", data, out)
		}
		again, err := Normalize(out)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("Normalize is not idempotent: %q → %q → %q (%v)", data, out, again, err)
		}
	})
}

// FuzzIsCanonical checks SetBody's shortcut: of the compact, valid JSON that encoding/json writes,
// whatever isCanonical accepts Normalize leaves as is.
func FuzzIsCanonical(f *testing.F) {
	for _, s := range []string{`{"A":12345,"B":1}`, `[1,-2,"x",true,null,{"a":{"a":[]}}]`, `{"a":1,"a":2}`,
		`{"1":0}`, `-0`, `1.5`, `12345678901234567`, `"\u2028"`, `{"a":{"b":1},"b":2}`, `"é"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, data) == nil && bytes.Equal(compact.Bytes(), data) && isCanonical(data) {
			wantNormalizeKeeps(t, "isCanonical", data)
		}
	})
}

// wantNormalizeKeeps fails unless data, which shortcut took for canonical, is valid JSON that
// Normalize leaves as is.
func wantNormalizeKeeps(t *testing.T, shortcut string, data []byte) {
	t.Helper()
	canon, err := Normalize(data)
	if err != nil {
		t.Fatalf("%s accepted %q, which Normalize rejects: %v", shortcut, data, err)
	}
	if !bytes.Equal(canon, data) {
		t.Fatalf("%s accepted %q, Normalize writes %q", shortcut, data, canon)
	}
}

// FuzzIsFlatPlainObject checks Marshal's shortcut for hdr: whatever isFlatPlainObject accepts,
// from any bytes at all, is valid JSON that Normalize leaves as is.
func FuzzIsFlatPlainObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`,
		`{"a":"1","b":"2"}`, `{"a":"1","a":"2"}`, `{"7":"x"}`, `{"a":"\u0041"}`, `{"a":1}`, `{"a":"x",}`,
		`{"a":"x"} `, `{"a":"é"}`, `{"a":"x""b":"y"}`, `{"a""x"}`, `{"":""}`, `{"a":"x"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if isFlatPlainObject(data) {
			wantNormalizeKeeps(t, "isFlatPlainObject", data)
		}
	})
}

// FuzzSetHeader checks SetHeader's shortcut for a message without hdr: what it writes is canonical
// (Normalize leaves it as is), the same as the general path writes into an empty object, and Header
// reads the value back.
func FuzzSetHeader(f *testing.F) {
	for _, kv := range [][2]string{{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{"7", "<&>\u2028"}, {"", ""}, {"\xed\xa0\x80", "\xff"}, {"k\"\\", "\x00\x1f\u00e9😀"}} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		var fast Message
		if err := fast.SetHeader(name, value); err != nil {
			t.Fatal(err)
		}
		if canon, err := Normalize(fast.Headers); err != nil || !bytes.Equal(canon, fast.Headers) {
			t.Fatalf("SetHeader(%q, %q) = %q, not canonical: %q (%v)", name, value, fast.Headers, canon, err)
		}
		general := Message{Headers: json.RawMessage(`{}`)}
		if err := general.SetHeader(name, value); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast.Headers, general.Headers) {
			t.Fatalf("SetHeader(%q, %q): without hdr %q, into {} %q", name, value, fast.Headers, general.Headers)
		}
		if v, ok := fast.Header(name); utf8.ValidString(name) && utf8.ValidString(value) && (!ok || v != value) {
			t.Fatalf("Header(%q) = %q, %v after SetHeader(%q)", name, v, ok, value)
		}
	})
}
