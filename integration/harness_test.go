package integration

import (
	"encoding/json"
	"testing"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

// The harness itself: a Node Hydra peer registers and reports its own presence.
func TestNodePeerHarness(t *testing.T) {
	srv := redistest.Start(t)
	p := startNodePeer(t, srv.URL()+"/0", "harness-peer")
	raw := p.MustCall("getServicePresence", "harness-peer")
	var presence []struct {
		InstanceID  string `json:"instanceID"`
		ServiceName string `json:"serviceName"`
	}
	if err := json.Unmarshal(raw, &presence); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if want, have := 1, len(presence); want != have {
		t.Fatalf("want %d instance, have %d: %s", want, have, raw)
	}
	if want, have := p.InstanceID, presence[0].InstanceID; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
}
