package queue

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
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
// attempt 1 (its counts ended when it was dead-lettered). bdy.reason stays: the handler can tell a
// second chance. ErrNotFound if it is gone.
func (i *Inspector) Requeue(ctx context.Context, service string, raw []byte) error {
	k, err := i.keys(service)
	if err != nil {
		return err
	}
	moved, err := requeueScript.Run(ctx, i.rdb, []string{k.incomplete, k.received}, raw, raw).Int()
	if err != nil {
		return fmt.Errorf("queue: requeue: %w", err)
	}
	if moved == 0 {
		return fmt.Errorf("queue: requeue: %w", ErrNotFound)
	}
	return nil
}

// RequeueAll requeues the dead letters service's incomplete list held when it was called, oldest
// first, and returns how many it moved. Dead letters added meanwhile (a consumer dead-lettering a
// requeued poison message again) stay for the next call, so RequeueAll ends however fast they come.
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
	for left > 0 {
		items, err := i.Incomplete(ctx, service, 0, min(left, 100))
		if err != nil || len(items) == 0 {
			return total, err
		}
		for _, it := range items {
			left--
			switch err := i.Requeue(ctx, service, it.Raw); {
			case err == nil:
				total++
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
