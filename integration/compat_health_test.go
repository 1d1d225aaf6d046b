package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"

	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

// The flight recorder writes what Node's sendToHealthLog writes: entries with Node's field names,
// order and JSON types, byte for byte but for ts, serviceName and processID; newest first; trimmed to
// the newest 64; and the log key expires in a week, as Node's health update sets it.
func TestCompatRecorderEntriesAsNodeWritesThem(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	ctx := t.Context()
	const n = 70 // more than the 64 kept
	text := func(i int) string { return fmt.Sprintf("entry %d: <b>&amp;</b> é \u2028 \"quoted\" x=1", i) }
	node := startNodePeer(t, srv.URL()+"/0", "log-node")
	for i := range n {
		node.MustCall("sendToHealthLog", "error", text(i))
	}
	nodeKey := "hydra:service:log-node:" + node.InstanceID + ":health:log"
	compatWait(t, 5*time.Second, "Node's last entry", func() bool {
		return strings.Contains(c.LIndex(ctx, nodeKey, 0).Val(), fmt.Sprintf("entry %d:", n-1))
	})
	// Node's sendToHealthLog only pushes and trims; its health update, every 5 s, sets the expiry.
	compatWait(t, 15*time.Second, "Node's expiry of the log", func() bool { return c.TTL(ctx, nodeKey).Val() > 0 })

	iid := keyspace.NewInstanceID()
	recorder, err := health.NewRecorder(hc, "log-go", iid)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		_ = level.Error(recorder).Log("msg", text(i))
	}
	if err := recorder.Close(); err != nil {
		t.Fatal(err)
	}
	goKey := "hydra:service:log-go:" + iid + ":health:log"

	nodeLog, goLog := c.LRange(ctx, nodeKey, 0, -1).Val(), c.LRange(ctx, goKey, 0, -1).Val()
	if len(nodeLog) != 64 || len(goLog) != 64 {
		t.Fatalf("entries kept: Node %d, Go %d, want 64", len(nodeLog), len(goLog))
	}
	for i := range nodeLog {
		compareJSON(t, fmt.Sprintf("entry %d", i), nodeLog[i], goLog[i], "ts", "serviceName", "processID")
		var nodeEntry, goEntry health.Entry
		_ = json.Unmarshal([]byte(nodeLog[i]), &nodeEntry)
		_ = json.Unmarshal([]byte(goLog[i]), &goEntry)
		if want := text(n - 1 - i); nodeEntry.Msg != want || goEntry.Msg != want || goEntry.ServiceName != "log-go" { // newest first
			t.Errorf("entry %d: want %q\nnode %s\ngo   %s", i, want, nodeLog[i], goLog[i])
		}
	}
	const week = 7 * 24 * time.Hour
	for key, ttl := range map[string]time.Duration{"Node": c.TTL(ctx, nodeKey).Val(), "Go": c.TTL(ctx, goKey).Val()} {
		if ttl <= week-time.Minute || ttl > week {
			t.Errorf("%s log expires in %v, want a week", key, ttl)
		}
	}
}
