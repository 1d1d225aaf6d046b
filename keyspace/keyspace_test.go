package keyspace_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/hydrakit/hydrakit/keyspace"
)

func TestHydraNames(t *testing.T) {
	s := keyspace.New()
	for _, tc := range []struct{ have, want string }{
		{s.Service("svc"), "hydra:service:svc:service"},
		{s.Routes("svc"), "hydra:service:svc:service:routes"},
		{s.Configs("svc"), "hydra:service:svc:configs"},
		{s.Presence("svc", "abc"), "hydra:service:svc:abc:presence"},
		{s.Health("svc", "abc"), "hydra:service:svc:abc:health"},
		{s.HealthLog("svc", "abc"), "hydra:service:svc:abc:health:log"},
		{s.Nodes(), "hydra:service:nodes"},
		{s.QueueReceived("svc"), "hydra:service:svc:mqrecieved"},
		{s.QueueInProgress("svc"), "hydra:service:svc:mqinprogress"},
		{s.QueueIncomplete("svc"), "hydra:service:svc:mqincomplete"},
		{s.ServiceChannel("svc"), "hydra:service:mc:svc"},
		{s.InstanceChannel("svc", "abc"), "hydra:service:mc:svc:abc"},
		{s.RouterChannel(), "hydra:service:mc:hydra-router"},
		{s.Own("svc", "events"), "hydra:service:hydrakit:svc:events"},
		{s.OwnGlobal("janitor"), "hydra:service:hydrakit:janitor"},
	} {
		if tc.want != tc.have {
			t.Errorf("want %q, have %q", tc.want, tc.have)
		}
	}
}

func TestPrefixAndClusterSafe(t *testing.T) {
	s := keyspace.New(keyspace.WithPrefix("acme:"), keyspace.ClusterSafe())
	for _, tc := range []struct{ have, want string }{
		{s.Presence("svc", "abc"), "acme:{svc}:abc:presence"},
		{s.QueueReceived("svc"), "acme:{svc}:mqrecieved"},
		{s.QueueInProgress("svc"), "acme:{svc}:mqinprogress"},
		{s.Nodes(), "acme:nodes"},
		{s.ServiceChannel("svc"), "acme:mc:{svc}"},
		{s.InstanceChannel("svc", "abc"), "acme:mc:{svc}:abc"},
		{s.RouterChannel(), "acme:mc:hydra-router"},
		{s.Own("svc", "leases"), "acme:hydrakit:{svc}:leases"},
	} {
		if tc.want != tc.have {
			t.Errorf("want %q, have %q", tc.want, tc.have)
		}
	}
	if !s.IsClusterSafe() || keyspace.New().IsClusterSafe() {
		t.Error("IsClusterSafe does not follow the option")
	}
}

// On a cluster a service's channels carry the service's hash tag, so that both sit on one shard
// (sharded pub/sub), and only hydra-router's keeps Hydra's name.
func TestClusterSafeChannels(t *testing.T) {
	s := keyspace.New(keyspace.ClusterSafe())
	for _, tc := range []struct{ have, want string }{
		{s.ServiceChannel("svc"), "hydra:service:mc:{svc}"},
		{s.InstanceChannel("svc", "abc"), "hydra:service:mc:{svc}:abc"},
		{s.RouterChannel(), "hydra:service:mc:hydra-router"},
		{s.Presence("svc", "abc"), "hydra:service:{svc}:abc:presence"},
	} {
		if tc.want != tc.have {
			t.Errorf("want %q, have %q", tc.want, tc.have)
		}
	}
}

// Node Hydra SCANs *:service and *:routes; our own keys must never end like that.
func TestOwnKeysNeverLookLikeHydraScanTargets(t *testing.T) {
	s := keyspace.New()
	for _, k := range []string{s.Own("svc", "events"), s.OwnGlobal("janitor")} {
		if regexp.MustCompile(`:(service|routes|presence)$`).MatchString(k) {
			t.Errorf("%q would be matched by Node Hydra's SCAN patterns", k)
		}
	}
}

func TestValidateService(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Orders", "orders", true},
		{"hydra-router", "hydra-router", true},
		{"a.b_c", "a.b_c", true},
		{"", "", false},
		{"a:b", "", false},
		{"a b", "", false},
		{"a\tb", "", false},
		{"a*", "", false},
		{"a?", "", false},
		{"a[b]", "", false},
		{"{a}", "", false},
	} {
		have, err := keyspace.ValidateService(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("%q: want ok=%v, have err=%v", tc.in, tc.ok, err)
			continue
		}
		if err != nil && !errors.Is(err, keyspace.ErrInvalidName) {
			t.Errorf("%q: error %v does not wrap ErrInvalidName", tc.in, err)
		}
		if want := tc.want; want != have {
			t.Errorf("%q: want %q, have %q", tc.in, want, have)
		}
	}
}

func TestValidateInstance(t *testing.T) {
	for _, id := range []string{"", "a-b", "a:b", "a@b", "a b", "a*"} {
		if err := keyspace.ValidateInstance(id); !errors.Is(err, keyspace.ErrInvalidName) {
			t.Errorf("%q: want ErrInvalidName, have %v", id, err)
		}
	}
	if err := keyspace.ValidateInstance(keyspace.NewInstanceID()); err != nil {
		t.Errorf("NewInstanceID: %v", err)
	}
}

func TestNewInstanceID(t *testing.T) {
	id := keyspace.NewInstanceID()
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("want 32 lower-case hex digits, have %q", id)
	}
	if id == keyspace.NewInstanceID() {
		t.Error("two instance IDs are equal")
	}
}
