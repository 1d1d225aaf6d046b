package redis

import (
	"errors"
	"testing"
	"time"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      Instance
	}{
		{"node string port",
			`{"serviceName":"svc","serviceDescription":"d","version":"1.2.3","instanceID":"abc","updatedOn":"2026-11-25T18:00:00.123Z","processID":42,"ip":"10.0.0.1","port":"5000","hostName":"h"}`,
			Instance{ID: "abc", Service: "svc", Description: "d", Version: "1.2.3", IP: "10.0.0.1", Port: 5000, HostName: "h", ProcessID: 42,
				UpdatedOn: time.Date(2026, 11, 25, 18, 0, 0, 123e6, time.UTC)}},
		{"number port, extra fields", `{"serviceName":"svc","instanceID":"abc","port":8080,"ip":"::1","elapsed":3}`,
			Instance{ID: "abc", Service: "svc", IP: "::1", Port: 8080}},
		{"null and empty port", `{"serviceName":"svc","instanceID":"abc","port":"","processID":null}`,
			Instance{ID: "abc", Service: "svc"}},
	} {
		have, err := parseEntry([]byte(tc.raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.want != have {
			t.Errorf("%s: want %+v, have %+v", tc.name, tc.want, have)
		}
	}
}

func TestParseEntryMalformed(t *testing.T) {
	for _, raw := range []string{``, `null`, `[]`, `{"serviceName":"svc"}`, `{"instanceID":"abc"}`,
		`{"serviceName":"svc","instanceID":"abc","port":"http"}`, `{"serviceName":"svc","instanceID":"abc","port":1.5}`,
		`{"serviceName":1,"instanceID":"abc"}`} {
		if _, err := parseEntry([]byte(raw)); !errors.Is(err, ErrMalformedEntry) {
			t.Errorf("%q: want ErrMalformedEntry, have %v", raw, err)
		}
	}
}

func TestAddr(t *testing.T) {
	for _, tc := range []struct {
		in   Instance
		want string
	}{
		{Instance{IP: "10.0.0.1", Port: 80}, "10.0.0.1:80"},
		{Instance{IP: "::1", Port: 80}, "[::1]:80"},
		{Instance{IP: "svc.local", Port: 0}, "svc.local:0"},
	} {
		if have := tc.in.Addr(); tc.want != have {
			t.Errorf("want %q, have %q", tc.want, have)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(`{"serviceName":"svc","instanceID":"abc","port":"5000","processID":1,"updatedOn":"2026-11-25T18:00:00.123Z"}`))
	f.Add([]byte(`{"serviceName":"svc","instanceID":"abc","port":1e3}`))
	f.Add([]byte(`{"port":"9999999999999999999999"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := parseEntry(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if in.ID == "" || in.Service == "" {
			t.Fatalf("accepted an entry without ID or service: %q", raw)
		}
		_ = in.Addr()
	})
}
