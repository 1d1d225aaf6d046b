package umf

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("s3cret")
	m, err := New("svc:/x", "i@me:/", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Priority = 9 // not covered by the signature, as Node drops it
	if err := Verify(m, secret); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("unsigned: want ErrBadSignature, have %v", err)
	}
	if err := Sign(m, secret); err != nil {
		t.Fatal(err)
	}
	if len(m.Signature) != 64 {
		t.Fatalf("signature %q is not 64 hex digits", m.Signature)
	}
	first := m.Signature
	if err := Sign(m, secret); err != nil || m.Signature != first {
		t.Fatalf("re-signing changed the signature: %s → %s (%v)", first, m.Signature, err)
	}
	wire, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(wire)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(got, secret); err != nil {
		t.Fatalf("Verify after a wire round trip: %v", err)
	}
	// Whitespace in the body does not matter: the signature covers JSON.stringify's form.
	got.Body = json.RawMessage(` { "n" : 1 } `)
	if err := Verify(got, secret); err != nil {
		t.Fatalf("Verify with reformatted body: %v", err)
	}
	for name, tamper := range map[string]func(*Message){
		"body":      func(m *Message) { m.Body = json.RawMessage(`{"n":2}`) },
		"to":        func(m *Message) { m.To = "other:/" },
		"timeout":   func(m *Message) { m.Timeout = 1 },
		"signature": func(m *Message) { m.Signature = flipHex(m.Signature) },
		"not hex":   func(m *Message) { m.Signature = "zz" },
	} {
		c := *got
		tamper(&c)
		if err := Verify(&c, secret); !errors.Is(err, ErrBadSignature) {
			t.Errorf("tampered %s: want ErrBadSignature, have %v", name, err)
		}
	}
	if err := Verify(got, []byte("wrong")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong secret: want ErrBadSignature, have %v", err)
	}
	bad := &Message{Body: json.RawMessage(`{`)}
	if err := Sign(bad, secret); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign with invalid body: want ErrMalformed, have %v", err)
	}
}

// flipHex changes the last hex digit of s.
func flipHex(s string) string {
	last := "0"
	if s[len(s)-1] == '0' {
		last = "1"
	}
	return s[:len(s)-1] + last
}
