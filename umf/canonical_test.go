package umf

import "testing"

func TestIsCanonical(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"A":12345,"B":1}`, true},
		{`[1,-2,"x",true,false,null,{},[]]`, true},
		{`{"a":{"a":1},"b":[{"a":2}]}`, true}, // the same key in different objects
		{`"héllo"`, true},
		{`{"a":1,"a":2}`, false},                       // JSON.stringify keeps one
		{`{"b":1,"10":2}`, false},                      // array-index keys go first
		{`1.5`, false},                                 // fractions and exponents: JS number formatting
		{`1e21`, false},                                //
		{`-0`, false},                                  // JSON.stringify(-0) is 0
		{`9007199254740993`, false},                    // beyond 2^53
		{`"\u2028"`, false},                            // JS writes U+2028 raw
		{`"a\"b"`, false},                              // any escape: checked by Normalize
		{"\"\xff\"", false},                            // invalid UTF-8 becomes U+FFFD
		{``, false},                                    //
		{`[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]`, false}, // deeper than checked
	} {
		if have := isCanonical([]byte(tc.in)); have != tc.want {
			t.Errorf("isCanonical(%s): want %v, have %v", tc.in, tc.want, have)
		}
		if tc.want {
			if canon, err := Normalize([]byte(tc.in)); err != nil || string(canon) != tc.in {
				t.Errorf("Normalize(%s) = %s, %v: the table is wrong", tc.in, canon, err)
			}
		}
	}
}

// Marshal trusts SetBody's output only while Body is still that slice.
func TestMarshalNormalizesAReplacedBody(t *testing.T) {
	var m Message
	if err := m.SetBody(map[string]int{"b": 1, "1": 2}); err != nil {
		t.Fatal(err)
	}
	if want, have := `{"bdy":{"1":2,"b":1}}`, marshal(t, &m); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
	m.Body = []byte(`{"b":1.50,"1":2}`) // assigned, not set: normalized as ever
	if want, have := `{"bdy":{"1":2,"b":1.5}}`, marshal(t, &m); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
	m.Body = []byte(`{`)
	if _, err := m.Marshal(); err == nil {
		t.Error("an assigned invalid body must fail Marshal")
	}

	resp := &Message{MID: "r", Timestamp: "t"}
	if err := resp.SetBody([]string{"ok"}); err != nil {
		t.Fatal(err)
	}
	orig := &Message{From: "a:/", MID: "m", Body: []byte(`{"q": 1}`)}
	want := `{"to":"a:/","mid":"r","rmid":"m","ts":"t","ver":"UMF/1.4.6","bdy":["ok"]}`
	if have := marshal(t, Reply(orig, resp)); want != have {
		t.Errorf("Reply: want %s, have %s", want, have)
	}
	if _, have, err := AppendReply(nil, orig, resp); err != nil || want != string(have) {
		t.Errorf("AppendReply: want %s, have %s (%v)", want, have, err)
	}
	resp.Body = []byte(`[ "ok" ]`) // replaced after SetBody: the reply normalizes it
	if have := marshal(t, Reply(orig, resp)); want != have {
		t.Errorf("Reply of a replaced body: want %s, have %s", want, have)
	}
}

func marshal(t *testing.T, m *Message) string {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIsFlatPlainObject(t *testing.T) {
	for s, want := range map[string]bool{
		`{}`: true, `{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`: true,
		`{"a":"1","b":"2"}`: true, `{"":""}`: true, `{"a":"1","a":"2"}`: false, `{"7":"x"}`: false,
		`{"a":"\u0041"}`: false, `{"a":1}`: false, `{"a":"x",}`: false, `{"a":"x"} `: false, `{"a":"é"}`: false,
		`{"a":"x""b":"y"}`: false, `{"a""x"}`: false, `{"a":"x"}}`: false, ` {}`: false, `{"a":"x"`: false,
	} {
		if have := isFlatPlainObject([]byte(s)); want != have {
			t.Errorf("isFlatPlainObject(%s): want %v, have %v", s, want, have)
		}
	}
}
