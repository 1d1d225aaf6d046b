package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/internal/umftrace"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
	"github.com/hydrakit/hydrakit/umf"
)

// Producer enqueues UMF messages to the queue of the service named in each message's to address,
// exactly where Node Hydra's queueMessage puts them.
type Producer struct {
	rdb     goredis.UniversalClient
	keys    keyspace.Scheme
	now     func() time.Time
	signing *trust.Keys
	trace   *umftrace.Tracer
	mx      *metrics.Queue
}

// NewProducer returns a Producer on client. With the client's signing on (hydrakit.WithSigning)
// every message is enqueued signed, as Node's signMessage('sha256', secret) signs; the caller's
// message is left as it is. A nil client is refused with ErrConfig.
func NewProducer(client *hydrakit.Client) (*Producer, error) {
	st := fleet.Of(client)
	if st == nil {
		return nil, configError("nil client")
	}
	return &Producer{
		rdb: st.Redis, keys: st.Keys, now: st.Now, signing: st.Signing,
		trace: umftrace.New(st, scope), mx: &st.Metrics.Queue,
	}, nil
}

// Enqueue appends messages to the received lists of the services in their to addresses, in one
// round trip: one LPUSH per target service, pipelined. The messages of one service are consumed in
// the order given. Nothing is written if one is invalid (ErrInvalidMessage). Each message is an
// "enqueue <queue>" span whose trace context goes in its hdr (docs/tracing.md).
func (p *Producer) Enqueue(ctx context.Context, messages ...*umf.Message) (err error) {
	byService := map[string][]any{}
	var order []string
	spans := make([]trace.Span, 0, len(messages))
	defer func() { endSpans(spans, err) }()
	for _, m := range messages {
		service, raw, span, err := p.encode(ctx, m)
		if err != nil {
			return err
		}
		spans = append(spans, span)
		if _, ok := byService[service]; !ok {
			order = append(order, service)
		}
		byService[service] = append(byService[service], raw)
	}
	if len(order) == 0 {
		return nil
	}
	_, err = p.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, service := range order {
			pipe.LPush(ctx, p.keys.QueueReceived(service), byService[service]...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	for _, service := range order {
		p.mx.Enqueued.With("queue", service).Add(float64(len(byService[service])))
	}
	return nil
}

// EnqueueAt makes m available to consumers at or after at, by the client's clock (a consumer's
// scheduler moves it to the received list, so delivery is at most a second late, and only while a
// consumer of the queue runs). A time not in the future enqueues at once.
func (p *Producer) EnqueueAt(ctx context.Context, m *umf.Message, at time.Time) (err error) {
	service, raw, span, err := p.encode(ctx, m)
	if err != nil {
		return err
	}
	defer func() { endSpans([]trace.Span{span}, err) }()
	k := newKeys(p.keys, service)
	if !at.After(p.now()) {
		err = p.rdb.LPush(ctx, k.received, raw).Err()
	} else {
		err = p.rdb.ZAdd(ctx, k.delayed, goredis.Z{Score: float64(at.UnixMilli()), Member: delayedMember(raw)}).Err()
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	p.mx.Enqueued.With("queue", service).Add(1)
	return nil
}

// encode validates m as Node's queueMessage does (to, frm and bdy required, to parses) and returns
// the target service and the normalized short form, signed when signing is on, which Node consumers
// can complete byte for byte, with the started span of enqueuing it, whose trace context it carries
// (the span is ended here when m is refused).
func (p *Producer) encode(ctx context.Context, m *umf.Message) (string, []byte, trace.Span, error) {
	if m == nil || m.To == "" || m.From == "" || len(m.Body) == 0 || string(m.Body) == "null" {
		return "", nil, nil, invalid("to, frm and bdy are required")
	}
	addr, err := umf.ParseAddress(m.To)
	if err != nil {
		return "", nil, nil, invalid("to %q: %w", m.To, err)
	}
	service, err := keyspace.ValidateService(addr.Service)
	if err != nil {
		return "", nil, nil, invalid("to %q: %w", m.To, err)
	}
	m, span := p.startEnqueue(ctx, m, service) // before signing: the signature covers hdr
	if p.signing.Signs() {
		signed := *m
		if err := p.signing.Sign(&signed); err != nil {
			endSpans([]trace.Span{span}, err)
			return "", nil, nil, invalid("%w", err)
		}
		m = &signed
	}
	raw, err := m.Marshal()
	if err != nil {
		endSpans([]trace.Span{span}, err)
		return "", nil, nil, invalid("%w", err)
	}
	return service, raw, span, nil
}

// delayedMember makes a zset member unique even when identical messages are delayed together.
func delayedMember(raw []byte) string {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:]) + "|" + string(raw)
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
