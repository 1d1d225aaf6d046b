package trust_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/umf"
)

func message(t *testing.T, now time.Time) *umf.Message {
	t.Helper()
	m, err := umf.New("svc:/x", "a@b:/", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Timestamp = umf.FormatTime(now)
	return m
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	old, cur := []byte("old"), []byte("new")
	require := trust.New([][]byte{cur, old}, true)

	signedWith := func(secret []byte, at time.Time) *umf.Message {
		m := message(t, at)
		if err := trust.New([][]byte{secret}, false).Sign(m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name string
		keys *trust.Keys
		msg  *umf.Message
		ok   bool
	}{
		{"nil keys accept anything", nil, message(t, now), true},
		{"not required accepts unsigned", trust.New([][]byte{cur}, false), message(t, now), true},
		{"unsigned refused", require, message(t, now), false},
		{"current secret", require, signedWith(cur, now), true},
		{"previous secret", require, signedWith(old, now), true},
		{"unknown secret", require, signedWith([]byte("other"), now), false},
		{"too old", require, signedWith(cur, now.Add(-trust.ReplayWindow-time.Second)), false},
		{"too far ahead", require, signedWith(cur, now.Add(trust.ReplayWindow+time.Second)), false},
		{"edge of window", require, signedWith(cur, now.Add(-trust.ReplayWindow)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.keys.Check(tc.msg, now, trust.ReplayWindow)
			if have := err == nil; have != tc.ok {
				t.Fatalf("want ok=%v, have %v", tc.ok, err)
			}
			if err != nil && !errors.Is(err, trust.ErrRejected) {
				t.Fatalf("want ErrRejected, have %v", err)
			}
		})
	}
}

func TestCheckWithoutWindowIgnoresAge(t *testing.T) {
	k := trust.New([][]byte{[]byte("s")}, true)
	m := message(t, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := k.Sign(m); err != nil {
		t.Fatal(err)
	}
	if err := k.Check(m, time.Now(), 0); err != nil {
		t.Fatalf("a queued message may be old: %v", err)
	}
}

func TestTamperedBodyRefused(t *testing.T) {
	k := trust.New([][]byte{[]byte("s")}, true)
	now := time.Now()
	m := message(t, now)
	if err := k.Sign(m); err != nil {
		t.Fatal(err)
	}
	if err := m.SetBody(map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if err := k.Check(m, now, trust.ReplayWindow); err == nil {
		t.Fatal("want a changed body refused")
	}
}
