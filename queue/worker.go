package queue

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit/umf"
)

// op is what happens to a leased message once its handler is done.
type op byte

const (
	opComplete op = 'c' // remove from in-progress
	opRelease  op = 'q' // back to the front of the received list, no attempt counted
	opRetry    op = 'r' // into the delayed set, due after the backoff
	opDead     op = 'd' // to the incomplete list, with bdy.reason
)

type outcome struct {
	op     op
	d      *Delivery
	target string     // opRetry: delayed member; opDead: the incomplete item
	due    int64      // opRetry: unix ms
	span   trace.Span // its settling, when it follows a handler
}

// workLoop handles jobs until the fetcher closes the channel. Once Close has begun, jobs not yet
// started are released instead of handled; once Close has given up on the handlers, a handler that
// returns ends its worker: Close has handed every held message back already.
func (c *Consumer) workLoop(ctx context.Context) {
	for d := range c.jobs {
		var o outcome
		select {
		case <-c.draining:
			o = outcome{op: opRelease, d: d}
		default:
			o = c.work(ctx, d)
		}
		select {
		case <-c.given:
			abandonSettle(o)
			return
		default:
		}
		select {
		case c.outcomes <- o: // never blocks while Close waits: it holds a place per held message
		case <-c.given:
			abandonSettle(o)
			return
		}
	}
}

// work handles d, or refuses it unhandled, and says what becomes of it.
func (c *Consumer) work(ctx context.Context, d *Delivery) outcome {
	if d.Message != nil && c.signing.Check(d.Message, c.now(), 0) != nil {
		reason := "rejected: bad signature"
		if d.Message.Signature == "" {
			reason = "rejected: unsigned"
		}
		c.rejected.Add(1)
		c.inputLog.Log("msg", "message moved to incomplete", "mid", d.Message.MID, "err", reason)
		return outcome{op: opDead, d: d, target: string(deadLetter(d, reason))}
	}
	if c.maxRecoveries > 0 && d.Recoveries >= c.maxRecoveries {
		err := fmt.Errorf("consumers died holding it %d times", d.Recoveries)
		c.inputLog.Log("msg", "message moved to incomplete", "mid", midOf(d), "err", err)
		return outcome{op: opDead, d: d, target: string(deadLetter(d, err.Error()))}
	}
	ctx, span := c.startProcess(ctx, d)
	err := c.handle(ctx, d)
	select {
	case <-c.given:
		span.End()
		return outcome{} // dropped by workLoop, unlogged
	default:
	}
	o := c.decide(ctx, d, err)
	c.endProcess(ctx, span, &o, err)
	return o
}

func (c *Consumer) handle(ctx context.Context, d *Delivery) (err error) {
	if d.Message == nil {
		return Permanent(errors.New("malformed UMF message"))
	}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("queue: handler panic: %w", e)
			} else {
				err = fmt.Errorf("queue: handler panic: %v", r)
			}
		}
	}()
	return c.handler.Handle(ctx, d)
}

func midOf(d *Delivery) string {
	if d.Message == nil {
		return ""
	}
	return d.Message.MID
}

func (c *Consumer) decide(ctx context.Context, d *Delivery, err error) outcome {
	mid := midOf(d)
	switch {
	case err == nil:
		return outcome{op: opComplete, d: d}
	case ctx.Err() != nil:
		c.inputLog.Log("msg", "handler stopped by shutdown, message released", "mid", mid, "err", err)
		return outcome{op: opRelease, d: d}
	case errors.Is(err, ErrPermanent) || d.Attempt >= c.maxAttempts:
		c.inputLog.Log("msg", "message moved to incomplete", "mid", mid, "attempt", d.Attempt, "err", err)
		return outcome{op: opDead, d: d, target: string(deadLetter(d, err.Error()))}
	}
	due := c.now().Add(c.backoff(d.Attempt))
	c.inputLog.Log("msg", "message will be retried", "mid", mid, "attempt", d.Attempt, "err", err)
	return outcome{op: opRetry, d: d, target: delayedMember(d.Raw), due: due.UnixMilli()}
}

// deadLetter is the incomplete-list form of d, as Node's markQueueMessage(msg, false, reason)
// writes it: the message with bdy.reason set. Raw bytes that are no UMF are kept as they are.
func deadLetter(d *Delivery, reason string) []byte {
	if d.Message == nil {
		return d.Raw
	}
	if reason == "" {
		reason = "reason not provided"
	}
	m := *d.Message
	body, err := setJSONField(m.Body, "reason", reason)
	if err != nil {
		return d.Raw // bdy is no JSON object: Node would not add a reason either
	}
	m.Body = body
	b, err := marshal(&m)
	if err != nil {
		return d.Raw
	}
	return b
}

// marshal encodes m exactly as Node's JSON.stringify would, so Node consumers can complete it.
func marshal(m *umf.Message) ([]byte, error) { return m.Marshal() }
