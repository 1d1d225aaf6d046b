package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// signingEvent is what integration/node/signing.js reports (as an event's msg) of a message it
// received: the message and whether its signature is Node's signMessage('sha256', secret) of it.
type signingEvent struct {
	Msg      umf.Message `json:"msg"`
	Verified bool        `json:"verified"`
}

// startSigningPeer starts integration/node/signing.js, a Node Hydra service named service that signs
// with secret, on the Redis at redisURL, and waits until it has registered. It speaks peer.js's
// protocol, so the nodePeer helpers drive it.
func startSigningPeer(t *testing.T, redisURL, service, secret string) *nodePeer {
	t.Helper()
	dir := requireNode(t)
	cmd := exec.Command("node", "signing.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PEER_SERVICE="+service, "PEER_REDIS_URL="+redisURL, "SIGNING_SECRET="+secret)
	return launchNodePeer(t, cmd)
}

// waitSigning returns the next event of kind, decoded.
func waitSigning(t *testing.T, p *nodePeer, kind string) signingEvent {
	t.Helper()
	var se signingEvent
	if err := json.Unmarshal(p.WaitEvent(kind, 20*time.Second).Msg, &se); err != nil {
		t.Fatalf("%s event: %v", kind, err)
	}
	return se
}

// Go and Node Hydra sign and check each other's messages with one secret, both ways: a Go Conn with
// signatures required calls a Node service that signs with UMF's signMessage('sha256', secret) and
// checks Go's signature by computing it again; the Node service calls the Go one, which answers it
// when the request is signed with the secret and drops it when it is unsigned or signed with another.
func TestSigningNodeInterop(t *testing.T) {
	const secret = "fleet-secret"
	srv := redistest.Start(t)
	node := startSigningPeer(t, srv.URL()+"/0", "node-signing", secret)
	// Node says it is ready once registered, which can be before its instance channel's SUBSCRIBE is
	// confirmed (Node announces first): wait for the subscription, or a request may reach no one.
	waitSubscribed(t, srv.Client(t), keyspace.New().InstanceChannel("node-signing", node.InstanceID))
	client := redistest.Fleet(t, srv.Client(t), hydrakit.WithSigning(secret), hydrakit.WithRequiredSignatures())

	id := keyspace.NewInstanceID()
	conn, err := redispubsub.NewConn(client, "go-signing", id)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echo, err := redispubsub.NewSubscriber(
		func(_ context.Context, req interface{}) (interface{}, error) { return map[string]any{"go": req}, nil },
		func(_ context.Context, m *umf.Message) (interface{}, error) { return m.Body, nil },
		redispubsub.EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	conn.Handle("/echo", echo.ServeMessage)
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "go-signing", ID: id}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg.Register() // Node sends only to instances it finds by presence, replies included
	defer reg.Deregister()

	// Go → Node: Node finds Go's signature valid and answers signed; Go accepts the answer.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reply, err := conn.Request(ctx, &umf.Message{To: node.InstanceID + "@node-signing:/check", Body: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatalf("Go → Node: %v (stats %+v)", err, conn.Stats())
	}
	if want, have := `{"verified":true,"echo":{"n":1}}`, string(reply.Body); want != have {
		t.Errorf("Go → Node: want %s, have %s", want, have)
	}
	if reply.Signature == "" {
		t.Error("Go → Node: the reply is not signed")
	}
	if ev := waitSigning(t, node, "request"); !ev.Verified || ev.Msg.Signature == "" {
		t.Errorf("Node did not verify Go's request: %+v", ev)
	}

	// Node → Go, signed with the secret: served, and Go's reply verifies in Node.
	if _, err := node.Op("send", map[string]any{"to": "go-signing:/echo", "bdy": map[string]int{"n": 2}, "sign": "good"}); err != nil {
		t.Fatal(err)
	}
	ev := waitSigning(t, node, "reply")
	if !ev.Verified || string(ev.Msg.Body) != `{"go":{"n":2}}` {
		t.Errorf("Node → Go: want a verified reply {\"go\":{\"n\":2}}, have %+v (%s)", ev, ev.Msg.Body)
	}

	// Unsigned, or signed with another secret: dropped and counted, never handled.
	before := conn.Stats()
	for _, sign := range []string{"none", "wrong"} {
		if _, err := node.Op("send", map[string]any{"to": "go-signing:/echo", "bdy": 3, "sign": sign}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for conn.Stats().Forged < before.Forged+2 {
		if time.Now().After(deadline) {
			t.Fatalf("want 2 more forged, have %+v", conn.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if after := conn.Stats(); after.Handled != before.Handled {
		t.Errorf("an unsigned or wrongly signed request was handled: %+v", after)
	}
}
