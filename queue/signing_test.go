package queue

import (
	"context"
	"errors"
	"testing"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

// A signing Producer's messages are handled by a consumer requiring signatures, also with the secret
// rotated (accepted as the previous one) and across a retry; unsigned and forged messages go to the
// incomplete list with the reason, unseen by the handler, and are counted.
func TestSignedQueue(t *testing.T) {
	rdb := redistest.Client(t)
	signer := redistest.Fleet(t, rdb, hydrakit.WithSigning("old"))
	plain := redistest.Fleet(t, rdb)
	forger := redistest.Fleet(t, rdb, hydrakit.WithSigning("guess"))
	checker := redistest.Fleet(t, rdb, hydrakit.WithSigning("new", "old"), hydrakit.WithRequiredSignatures())
	svc := service()
	ctx := context.Background()

	signed := newMessage(t, svc, map[string]string{"who": "signed"})
	retried := newMessage(t, svc, map[string]string{"who": "retried"})
	must(t, producer(t, signer).Enqueue(ctx, signed, retried))
	equal(t, "", signed.Signature) // the caller's message is left as it is
	unsigned := newMessage(t, svc, map[string]string{"who": "unsigned"})
	must(t, producer(t, plain).Enqueue(ctx, unsigned))
	forged := newMessage(t, svc, map[string]string{"who": "forged"})
	must(t, producer(t, forger).Enqueue(ctx, forged))

	got := newSeen()
	con := startConsumer(t, checker, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		got.add(d.Message.MID)
		if d.Message.MID == retried.MID && d.Attempt == 1 {
			return errors.New("once more")
		}
		return nil
	}), fast()...)
	eventually(t, "handled and rejected", func() bool {
		return got.len() == 2 && got.get(retried.MID) == 2 && stats(t, checker, svc).Incomplete == 2 &&
			drained(t, checker, svc)
	})
	equal(t, 1, got.get(signed.MID))
	equal(t, ConsumerStats{Rejected: 2}, con.Stats())
	items, err := inspector(t, checker).Incomplete(ctx, svc, 0, 10)
	must(t, err)
	reasons := map[string]string{}
	for _, it := range items {
		reasons[it.Message.MID] = it.Reason
	}
	equal(t, map[string]string{unsigned.MID: "rejected: unsigned", forged.MID: "rejected: bad signature"}, reasons)
}

// With signatures required, Requeue removes the bdy.reason that broke a signed dead letter's
// signature, so it is handled again, and refuses a dead letter whose signature was bad to begin
// with instead of requeueing it to be rejected again; RequeueAll moves the first and keeps the second.
func TestRequeueWithRequiredSignatures(t *testing.T) {
	rdb := redistest.Client(t)
	c := redistest.Fleet(t, rdb, hydrakit.WithSigning("s"), hydrakit.WithRequiredSignatures())
	svc := service()
	ctx := context.Background()
	failed := newMessage(t, svc, map[string]any{"n": 1})
	must(t, producer(t, c).Enqueue(ctx, failed))
	must(t, producer(t, redistest.Fleet(t, rdb)).Enqueue(ctx, newMessage(t, svc, map[string]any{"n": 2})))
	con := startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		return Permanent(errors.New("not now"))
	}), fast()...)
	eventually(t, "dead letters", func() bool { return stats(t, c, svc).Incomplete == 2 })
	must(t, con.Close())

	in := inspector(t, c)
	items, err := in.Incomplete(ctx, svc, 0, 10)
	must(t, err)
	for _, it := range items {
		if it.Reason == "rejected: unsigned" {
			isErr(t, in.Requeue(ctx, svc, it.Raw), ErrInvalidMessage)
		}
	}
	n, err := in.RequeueAll(ctx, svc)
	must(t, err)
	equal(t, 1, n)
	k := newKeys(c.Keyspace(), svc)
	requeued := rdb.LIndex(ctx, k.received, 0).Val()
	signed, err := producer(t, c).signedBytes(failed)
	must(t, err)
	equal(t, string(signed), requeued) // the message as first enqueued, signature valid again
	equal(t, int64(1), rdb.LLen(ctx, k.incomplete).Val())

	handled := make(chan string, 1)
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		handled <- d.Message.MID
		return nil
	}), fast()...)
	equal(t, failed.MID, <-handled)
}

// signedBytes is what p enqueues for m.
func (p *Producer) signedBytes(m *umf.Message) ([]byte, error) {
	_, raw, span, err := p.encode(context.Background(), m)
	if span != nil {
		span.End()
	}
	return raw, err
}
