package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// failover kills one greeter and keeps calling through both balanced clients until well after the
// Instancers dropped it. Calls may fail only while the dead instance is still listed; none after.
func (t *tour) failover(ctx context.Context) error {
	victim := t.greeters[0]
	addr := victim.fields[1]
	victim.kill()
	killed := time.Now()
	t.say("  killed greeter %s (pid %d) with SIGKILL: it cannot deregister", short(victim.fields[0]), victim.cmd.Process.Pid)

	var ok, failedBefore, failedAfter int
	var gone time.Time
	for i := 0; gone.IsZero() || time.Since(gone) < time.Second; i++ {
		if time.Since(killed) > 6*time.Second {
			return fmt.Errorf("%s still discovered 6 s after SIGKILL (presence TTL is 3 s)", addr)
		}
		if gone.IsZero() && !slices.Contains(instances(t.addrs), addr) && !slices.Contains(instances(t.ids), victim.fields[0]) {
			gone = time.Now()
			t.say("  the Instancers dropped it %d ms after the kill (presence TTL 3 s)", gone.Sub(killed).Milliseconds())
		}
		for _, e := range []func(context.Context, any) (any, error){t.httpGreet, t.busGreet} {
			if _, err := greet(ctx, e, fmt.Sprintf("failover %d", i)); err != nil {
				if gone.IsZero() {
					failedBefore++
				} else {
					failedAfter++
				}
				continue
			}
			ok++
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.say("  %d calls during fail-over: %d answered, %d failed before the instance left discovery, %d after",
		ok+failedBefore+failedAfter, ok, failedBefore, failedAfter)
	if failedAfter > 0 {
		return fmt.Errorf("%d calls failed after the dead instance left discovery", failedAfter)
	}
	t.greeters = t.greeters[1:]
	return nil
}

// broadcast sends one message on the service channel; every live greeter answers with an ack.
func (t *tour) broadcast(ctx context.Context) error {
	msg, err := umf.New(greeterService+":/announce", t.conn.Address(), map[string]string{"text": "config changed"})
	if err != nil {
		return err
	}
	if err := t.conn.Broadcast(ctx, msg); err != nil {
		return err
	}
	var acked []string
	deadline := time.After(3 * time.Second)
	for len(acked) < len(t.greeters) {
		select {
		case by := <-t.acks:
			acked = append(acked, short(by))
		case <-deadline:
			return fmt.Errorf("%d of %d live instances acknowledged the broadcast", len(acked), len(t.greeters))
		}
	}
	sort.Strings(acked)
	t.say("  broadcast %s on %s; acknowledged by %v", short(msg.MID), t.client.Keyspace().ServiceChannel(greeterService), acked)
	return nil
}

// jobs queues work, kills the worker holding some of it, and checks a second worker finishes all of it.
func (t *tour) jobs(ctx context.Context) error {
	const n = 12
	done := doneKey(t.client, greeterService)
	if err := t.rdb.Del(ctx, done).Err(); err != nil {
		return err
	}
	inspector, err := queue.NewInspector(t.client)
	if err != nil {
		return err
	}
	producer, err := queue.NewProducer(t.client)
	if err != nil {
		return err
	}
	var batch []*umf.Message
	for i := range n {
		m, err := umf.New(greeterService+":/jobs", t.conn.Address(), job{N: i, SleepMS: 300})
		if err != nil {
			return err
		}
		batch = append(batch, m)
	}
	first, err := t.spawn(ctx, "worker", greeterService)
	if err != nil {
		return err
	}
	if err := producer.Enqueue(ctx, batch...); err != nil {
		return err
	}
	t.say("  queued %d jobs of 300 ms on %s; worker A (pid %s, 2 workers) takes them",
		n, t.client.Keyspace().QueueReceived(greeterService), first.fields[0])

	// Kill A once it has finished some jobs and holds others.
	var held []string
	if err := waitFor(ctx, 10*time.Second, func() bool {
		finished := t.rdb.HLen(ctx, done).Val()
		held = t.inProgress(ctx)
		return finished >= 2 && len(held) > 0
	}); err != nil {
		return fmt.Errorf("worker A made no progress: %w", err)
	}
	first.kill()
	t.say("  killed worker A with SIGKILL while it held %d jobs %v", len(held), held)

	second, err := t.spawn(ctx, "worker", greeterService)
	if err != nil {
		return err
	}
	t.say("  started worker B (pid %s); A's leases (%v) expire and its jobs return to the queue", second.fields[0], demoLease)
	if err := waitFor(ctx, 20*time.Second, func() bool {
		s, err := inspector.Stats(ctx, greeterService)
		return err == nil && t.rdb.HLen(ctx, done).Val() == n &&
			s.Received+s.InProgress+s.Delayed+s.Incomplete == 0
	}); err != nil {
		s, _ := inspector.Stats(ctx, greeterService)
		return fmt.Errorf("jobs not all completed: %d of %d done, queue %+v", t.rdb.HLen(ctx, done).Val(), n, s)
	}
	runs := t.rdb.HGetAll(ctx, done).Val()
	twice := 0
	for _, r := range runs {
		if r != "1" {
			twice++
		}
	}
	t.say("  all %d jobs completed, including the %d A held; %d ran twice (delivery is at least once); queue empty",
		n, len(held), twice)
	return nil
}

// inProgress lists the short mids of the jobs in the in-progress list.
func (t *tour) inProgress(ctx context.Context) []string {
	var mids []string
	for _, raw := range t.rdb.LRange(ctx, t.client.Keyspace().QueueInProgress(greeterService), 0, -1).Val() {
		if m, err := umf.Unmarshal([]byte(raw)); err == nil {
			mids = append(mids, short(m.MID))
		}
	}
	return mids
}

func (t *tour) health(ctx context.Context) error {
	g := t.greeters[0]
	id := g.fields[0]
	ks := t.client.Keyspace()
	raw, err := t.rdb.Get(ctx, ks.Health(greeterService, id)).Bytes()
	if err != nil {
		return fmt.Errorf("health of %s: %w", short(id), err)
	}
	var s health.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	ttl := t.rdb.TTL(ctx, ks.Health(greeterService, id)).Val()
	t.say("  %s: status %s, %s, rss %d KiB, %d goroutines, up %.1f s (key TTL %v)",
		ks.Health(greeterService, id), s.Status, s.NodeVersion, s.Memory.RSS/1024, s.Goroutines, s.UptimeSeconds, ttl.Round(time.Second))
	if s.Status != health.StatusOK {
		return fmt.Errorf("status %q, want %q", s.Status, health.StatusOK)
	}
	entries := t.rdb.LRange(ctx, ks.HealthLog(greeterService, id), 0, 4).Val()
	if len(entries) == 0 {
		return fmt.Errorf("no flight-recorder entries for %s", short(id))
	}
	t.say("  flight recorder %s, newest first:", ks.HealthLog(greeterService, id))
	for _, e := range entries {
		var entry health.Entry
		if json.Unmarshal([]byte(e), &entry) == nil {
			t.say("    %s %-5s %s", entry.TS, entry.Type, entry.Msg)
		}
	}
	return nil
}

// keys lists what the demo left in Redis. A one-off SCAN is fine here: this is a demo's report, not a
// steady-state path.
func (t *tour) keys(ctx context.Context) error {
	ks := t.client.Keyspace()
	keys, err := scanKeys(ctx, t.rdb, ks.Prefix()+":*")
	if err != nil {
		return err
	}
	sort.Strings(keys)
	pipe := t.rdb.Pipeline()
	types := make([]interface{ Val() string }, len(keys))
	for i, k := range keys {
		types[i] = pipe.Type(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	for i, k := range keys {
		t.say("  %-6s %s", types[i].Val(), k)
	}
	if !slices.Contains(keys, ks.Nodes()) || !slices.Contains(keys, ks.Service(greeterService)) {
		return fmt.Errorf("the nodes hash or the greeter's :service key is missing")
	}
	return nil
}

// scanKeys returns the keys matching pattern: on every primary of a Redis Cluster, since each holds
// only its own slots.
func scanKeys(ctx context.Context, rdb goredis.UniversalClient, pattern string) ([]string, error) {
	var (
		mu   sync.Mutex
		keys []string
	)
	scan := func(ctx context.Context, c goredis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cluster, ok := rdb.(*goredis.ClusterClient); ok {
		err = cluster.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, rdb)
	}
	return keys, err
}
