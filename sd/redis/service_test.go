package redis

import (
	"encoding/json"
	"errors"
	"net/netip"
	"runtime/debug"
	"testing"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

// Node fills ip and version when they are not configured; so does a Registrar, the same way.
func TestRegistrarFillsIPAndVersion(t *testing.T) {
	m, c := redistest.Mini(t)
	r := register(t, redistest.Fleet(t, c), Service{Name: "svc"})
	var entry struct{ IP, Version string }
	if err := json.Unmarshal([]byte(m.HGet("hydra:service:nodes", r.ID())), &entry); err != nil {
		t.Fatal(err)
	}
	addrs, err := hostAddrs()
	if err != nil {
		t.Fatal(err)
	}
	want, err := chooseIP("", addrs)
	if err != nil {
		t.Fatal(err)
	}
	if want == "" {
		t.Skip("this host has no IPv4 address but 127.0.0.1")
	}
	if have := entry.IP; want != have {
		t.Errorf("ip: want %q, have %q", want, have)
	}
	// A test binary is built without a module version: "(devel)".
	if want, have := "unspecified", entry.Version; want != have {
		t.Errorf("version: want %q, have %q", want, have)
	}
}

// chooseIP follows Node's init: a configured address is kept; a pattern ("10.0.*") takes the first
// IPv4 address starting with the text before the '*'; nothing configured takes the first IPv4
// address other than 127.0.0.1 (of interfaces that are up and running, in the host's order).
func TestChooseIP(t *testing.T) {
	host := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("fd00::2"),
		netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("10.0.0.5"),
	}
	for _, tc := range []struct {
		configured string
		addrs      []netip.Addr
		want       string
	}{
		{"", host, "192.0.2.2"},
		{"10.0.*", host, "10.0.0.5"},
		{"10.0.*.7", host, "10.0.0.5"}, // Node uses the text before the first '*' only
		{"127.*", host, "127.0.0.1"},
		{"*", host, "127.0.0.1"},
		{"10.1.2.3", host, "10.1.2.3"},
		{"svc.internal", host, "svc.internal"},
		{"", host[:3], ""}, // loopback only: Node leaves ip empty too
	} {
		have, err := chooseIP(tc.configured, tc.addrs)
		if err != nil || tc.want != have {
			t.Errorf("chooseIP(%q): want %q, have %q (%v)", tc.configured, tc.want, have, err)
		}
	}
	if _, err := chooseIP("172.16.*", host); !errors.Is(err, ErrConfig) {
		t.Errorf("a pattern nothing matches: want ErrConfig, have %v", err)
	}
	_, c := redistest.Mini(t)
	if _, err := NewRegistrar(redistest.Fleet(t, c), Service{Name: "svc", IP: "203.0.113.*"}, log.NewNopLogger()); !errors.Is(err, ErrConfig) {
		t.Errorf("NewRegistrar with a pattern nothing matches: want ErrConfig, have %v", err)
	}
}

func TestDefaultVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		ok      bool
		want    string
	}{
		{"v1.4.0", true, "v1.4.0"},
		{"v0.0.0-20260101000000-abcdef123456+dirty", true, "v0.0.0-20260101000000-abcdef123456+dirty"},
		{"(devel)", true, "unspecified"},
		{"", true, "unspecified"},
		{"v1.4.0", false, "unspecified"},
	} {
		info := &debug.BuildInfo{Main: debug.Module{Path: "example.com/svc", Version: tc.version}}
		if have := defaultVersion(info, tc.ok); tc.want != have {
			t.Errorf("%q: want %q, have %q", tc.version, tc.want, have)
		}
	}
}
