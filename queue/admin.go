package queue

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/umf"
)

// requeueScript moves one dead letter back to the received list, rewritten by the caller.
// KEYS[1] incomplete, KEYS[2] received
// ARGV[1] the dead letter's exact bytes, ARGV[2] the message to enqueue
// Returns 1 when moved, 0 when the dead letter is no longer there.
var requeueScript = goredis.NewScript(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
`)

// Requeue moves the dead letter raw (Item.Raw) back to the received list, where it starts again from
// attempt 1 (its counts ended when it was dead-lettered). bdy.reason stays, so that the handler can
// tell a second chance, except where the client requires signatures: the reason broke the message's
// signature, so it is removed again, and a dead letter whose signature does not verify even then (it
// was rejected for its signature, it is no UMF, or its body had a reason of its own) is refused with
// ErrInvalidMessage instead of being requeued to be rejected again; to run such a job, enqueue it
// anew with a Producer, which signs it. Requeue never signs. ErrNotFound if it is gone.
func (i *Inspector) Requeue(ctx context.Context, service string, raw []byte) error {
	k, err := i.keys(service)
	if err != nil {
		return err
	}
	fresh, err := i.requeued(raw)
	if err != nil {
		return fmt.Errorf("queue: requeue: %w", err)
	}
	moved, err := requeueScript.Run(ctx, i.rdb, []string{k.incomplete, k.received}, raw, fresh).Int()
	if err != nil {
		return fmt.Errorf("queue: requeue: %w", err)
	}
	if moved == 0 {
		return fmt.Errorf("queue: requeue: %w", ErrNotFound)
	}
	return nil
}

// requeued is the message Requeue enqueues for the dead letter raw.
func (i *Inspector) requeued(raw []byte) ([]byte, error) {
	if !i.signing.Requires() {
		return raw, nil
	}
	m, err := umf.Unmarshal(raw)
	if err != nil {
		return nil, invalid("signatures are required and the dead letter is no UMF message: %w", err)
	}
	if body, found, err := deleteJSONField(m.Body, "reason"); err == nil && found {
		m.Body = body
	}
	if err := i.signing.Check(m, i.now(), 0); err != nil {
		return nil, invalid("without its bdy.reason the dead letter would be %w", err)
	}
	return marshal(m)
}

// RequeueAll requeues the dead letters service's incomplete list held when it was called, oldest
// first, and returns how many it moved. Dead letters added meanwhile (a consumer dead-lettering a
// requeued poison message again) stay for the next call, so RequeueAll ends however fast they come;
// those Requeue refuses for their signature stay where they are.
func (i *Inspector) RequeueAll(ctx context.Context, service string) (int, error) {
	k, err := i.keys(service)
	if err != nil {
		return 0, err
	}
	left, err := i.rdb.LLen(ctx, k.incomplete).Result()
	if err != nil {
		return 0, fmt.Errorf("queue: requeue: %w", err)
	}
	total := 0
	var kept int64 // refused dead letters at the head of the list
	for left > 0 {
		items, err := i.Incomplete(ctx, service, kept, min(left, 100))
		if err != nil || len(items) == 0 {
			return total, err
		}
		for _, it := range items {
			left--
			switch err := i.Requeue(ctx, service, it.Raw); {
			case err == nil:
				total++
			case errors.Is(err, ErrInvalidMessage):
				kept++
			case !errors.Is(err, ErrNotFound):
				return total, err
			}
		}
	}
	return total, nil
}

// Delete removes one dead letter. ErrNotFound if it is gone.
func (i *Inspector) Delete(ctx context.Context, service string, raw []byte) error {
	k, err := i.keys(service)
	if err != nil {
		return err
	}
	n, err := i.rdb.LRem(ctx, k.incomplete, 1, raw).Result()
	if err != nil {
		return fmt.Errorf("queue: delete: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("queue: delete: %w", ErrNotFound)
	}
	return nil
}

// Purge deletes every dead letter of service and returns how many there were.
func (i *Inspector) Purge(ctx context.Context, service string) (int64, error) {
	k, err := i.keys(service)
	if err != nil {
		return 0, err
	}
	var n *goredis.IntCmd
	_, err = i.rdb.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		n = pipe.LLen(ctx, k.incomplete)
		pipe.Del(ctx, k.incomplete)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("queue: purge: %w", err)
	}
	return n.Val(), nil
}
