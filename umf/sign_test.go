package umf

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
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

func TestSignerMatchesSign(t *testing.T) {
	secret := []byte("s3cret")
	signer := NewSigner(secret)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				m, err := New("svc:/x", "a@b:/", map[string]int{"i": i, "j": j})
				if err != nil {
					t.Error(err)
					return
				}
				want := *m
				if err := Sign(&want, secret); err != nil {
					t.Error(err)
					return
				}
				if err := signer.Sign(m); err != nil || m.Signature != want.Signature {
					t.Errorf("Signer.Sign: %q (%v), Sign: %q", m.Signature, err, want.Signature)
					return
				}
				if err := signer.Verify(m); err != nil {
					t.Error(err)
				}
				m.Signature = strings.ToUpper(m.Signature[:1]) + m.Signature[1:] + "0"
				if err := signer.Verify(m); !errors.Is(err, ErrBadSignature) {
					t.Errorf("a signature of the wrong length: want ErrBadSignature, have %v", err)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkSigner(b *testing.B) {
	m, _ := New("svc:/x", "a@b:/", map[string]any{"user": "ada", "items": []int{1, 2, 3}})
	secret := []byte("s3cret")
	b.Run("Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Sign(m, secret)
		}
	})
	b.Run("Signer.Sign", func(b *testing.B) {
		s := NewSigner(secret)
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Sign(m)
		}
	})
	b.Run("Signer.Verify", func(b *testing.B) {
		s := NewSigner(secret)
		_ = s.Sign(m)
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Verify(m)
		}
	})
}

func TestSignerAppendReplyIsSignedReply(t *testing.T) {
	orig := &Message{To: "svc:/work", From: "i1@caller:/", MID: "m1", Timestamp: "2026-12-03T12:00:00.000Z", Body: []byte(`{"a":1}`)}
	resp := &Message{MID: "r1", Body: []byte(`{"ok":true}`), Timestamp: "2026-12-03T12:00:01.000Z"}
	signer := NewSigner([]byte("k"))
	want := Reply(orig, resp)
	if err := signer.Sign(want); err != nil {
		t.Fatal(err)
	}
	wantBytes, _ := want.Marshal()
	to, have, err := signer.AppendReply(nil, orig, resp)
	if err != nil || to != want.To || string(have) != string(wantBytes) {
		t.Fatalf("want %s to %s, have %s to %s (%v)", wantBytes, want.To, have, to, err)
	}
}
