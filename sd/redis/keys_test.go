package redis

import (
	"testing"

	"github.com/hydrakit/hydrakit/keyspace"
)

func TestKeys(t *testing.T) {
	safe := keyspace.New(keyspace.ClusterSafe())
	for _, tc := range []struct{ have, want string }{
		{indexKey(keyspace.New(), "svc"), "hydra:service:hydrakit:svc:instances"},
		{eventsChannel(keyspace.New(), "svc"), "hydra:service:hydrakit:svc:events"},
		{janitorLock(keyspace.New()), "hydra:service:hydrakit:sd:janitor"},
		{indexKey(safe, "svc"), "hydra:service:hydrakit:{svc}:instances"},
		{eventsChannel(safe, "svc"), "hydra:service:hydrakit:{svc}:events"},
	} {
		if tc.want != tc.have {
			t.Errorf("want %q, have %q", tc.want, tc.have)
		}
	}
}
