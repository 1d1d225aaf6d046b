package umftrace

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/umf"
)

// System is the messaging.system of every span: the protocol (Hydra's UMF messages), not the store
// under it, so that Redis command spans (go-redis's redisotel, db.system.name "redis") stay apart.
const System = "hydra"

// SystemAttr is messaging.system = "hydra".
var SystemAttr = semconv.MessagingSystemKey.String(System)

// Carrier is a propagation.TextMapCarrier over a UMF message's hdr: a key is a hdr field with a
// string value.
type Carrier struct{ Msg *umf.Message }

var _ propagation.TextMapCarrier = Carrier{} // API check

// Get returns the string hdr field key, or "" (umf.Message.Header: the last of duplicate fields).
//
// A hdr with no backslash spells its strings as they are, so it is read without a parse when it
// can be: a propagator asks for every field it knows (traceparent, tracestate, baggage), and most
// messages carry one of them or none. Without a backslash, a hdr that lacks key lacks the field;
// and in a flat one (no nested object or array) whose last "key" is followed by :" (as hydrakit
// writes it), the value runs to the next quote (and is
// taken as it is when it is valid UTF-8). Anything else is parsed.
func (c Carrier) Get(key string) string {
	hdr := c.Msg.Headers
	if len(hdr) == 0 {
		return ""
	}
	if bytes.IndexByte(hdr, '\\') < 0 {
		i := lastQuoted(hdr, key)
		if i < 0 {
			return ""
		}
		if rest := hdr[i+len(key)+2:]; len(rest) > 2 && rest[0] == ':' && rest[1] == '"' &&
			bytes.Count(hdr, []byte{'{'}) == 1 && bytes.IndexByte(hdr, '[') < 0 {
			if end := bytes.IndexByte(rest[2:], '"'); end >= 0 && utf8.Valid(rest[2:2+end]) {
				return string(rest[2 : 2+end])
			}
		}
	}
	v, _ := c.Msg.Header(key)
	return v
}

// lastQuoted is the index of the last "key" (quotes included) in hdr, or -1.
func lastQuoted(hdr []byte, key string) int {
	if !bytes.Contains(hdr, []byte(key)) { // the common case, and much faster than LastIndex
		return -1
	}
	for end := len(hdr); ; {
		i := bytes.LastIndex(hdr[:end], []byte(key))
		if i < 1 {
			return -1
		}
		if hdr[i-1] == '"' && i+len(key) < len(hdr) && hdr[i+len(key)] == '"' {
			return i - 1
		}
		end = i + len(key) - 1
	}
}

// Set sets the hdr field key. A hdr that is not a JSON object is left as it is: the message goes
// without trace context rather than not at all.
func (c Carrier) Set(key, value string) { _ = c.Msg.SetHeader(key, value) }

// Keys lists the hdr fields.
func (c Carrier) Keys() []string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.Msg.Headers, &fields) != nil {
		return nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	return keys
}

// Tracer makes the spans of one hydrakit package with a client's tracing setting.
type Tracer struct {
	trace.Tracer
	prop   propagation.TextMapPropagator
	inject bool // the propagator writes something
	global bool // the provider is OpenTelemetry's global one as it was before any was set

	w3c          bool // the propagator is OpenTelemetry's W3C trace context or baggage, or both
	traceContext bool // and it carries trace context
	baggage      bool // and it carries baggage
}

// unsetGlobal is the global TracerProvider before otel.SetTracerProvider: a delegate whose spans
// record nothing, yet cost three allocations each, until a provider is set.
var unsetGlobal = otel.GetTracerProvider()

// skipped is the span of work traced while no provider is set: it records nothing and ends nothing.
var skipped trace.Span = noop.Span{}

// New returns the Tracer of the package scope (its import path) for the client state st.
func New(st *fleet.State, scope string) *Tracer {
	t := &Tracer{
		Tracer: st.Tracing.Provider.Tracer(scope),
		prop:   st.Tracing.Propagator,
		inject: len(st.Tracing.Propagator.Fields()) > 0,
		global: st.Tracing.Provider == unsetGlobal,
	}
	t.traceContext, t.w3c = w3cOnly(t.prop)
	t.baggage = t.w3c && slices.Contains(t.prop.Fields(), "baggage")
	return t
}

// Start starts a span of the kind given (Client, Server, Producer, Consumer) with more options; but
// while the client follows the global provider and none has been set, it returns ctx as it is and a
// span that records nothing, for free. The trace context ctx carries (a caller's) still propagates,
// as it would through the global delegate's non-recording span; once otel.SetTracerProvider runs,
// spans are made and exported.
func (t *Tracer) Start(ctx context.Context, name string, kind Kind, more ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.global && otel.GetTracerProvider() == unsetGlobal {
		return ctx, skipped
	}
	if len(more) == 0 {
		return t.Tracer.Start(ctx, name, kind...)
	}
	return t.Tracer.Start(ctx, name, append(slices.Clip(kind), more...)...)
}

// Inject writes the trace context of ctx into msg's hdr, before msg is signed (a signature covers
// hdr). Without a valid span context in ctx, or with a propagator that writes nothing, msg is left
// as it is.
func (t *Tracer) Inject(ctx context.Context, msg *umf.Message) {
	sc := trace.SpanContextFromContext(ctx)
	if !t.inject || !sc.IsValid() {
		return
	}
	if t.traceContext && injectTraceparent(ctx, msg, sc, t.baggage) {
		return
	}
	t.prop.Inject(ctx, Carrier{msg})
}

// Extract returns ctx with the trace context (and baggage) msg's hdr carries; ctx itself when hdr
// carries none.
func (t *Tracer) Extract(ctx context.Context, msg *umf.Message) context.Context {
	if len(msg.Headers) == 0 {
		return ctx
	}
	if t.w3c {
		if sc, known := extractTraceparent(msg.Headers); known {
			if !t.traceContext || !sc.IsValid() {
				return ctx
			}
			return trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	return t.prop.Extract(ctx, Carrier{msg})
}

// OnlyContext reports whether hdr holds nothing but a trace context as this Tracer writes it: a
// reply leaves such a request hdr out rather than copy it back as Node's sendReplyMessage would,
// since it describes the request's span, not the reply's (decision 51).
func (t *Tracer) OnlyContext(hdr []byte) bool { return t.traceContext && isLoneTraceparent(hdr) }

// Kind is a span kind as the start options Tracer.Start passes on, made once: an option, or an
// options slice, made per span is an allocation.
type Kind []trace.SpanStartOption

// The span kinds hydrakit's spans have.
var (
	Client   = Kind{trace.WithSpanKind(trace.SpanKindClient)}
	Server   = Kind{trace.WithSpanKind(trace.SpanKindServer)}
	Producer = Kind{trace.WithSpanKind(trace.SpanKindProducer)}
	Consumer = Kind{trace.WithSpanKind(trace.SpanKindConsumer)}
)

// Fail marks span failed with err: status Error and error.type kind, one of a few names (bounded
// by the program, unlike err's text, which goes into the status description).
func Fail(span trace.Span, err error, kind string) {
	if err == nil || !span.IsRecording() {
		return
	}
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(semconv.ErrorTypeKey.String(kind))
}

// Destination is the low-cardinality form of a UMF address: svc:/route, without the instance (and
// its sub-ID), which a mid or an instance ID would make unbounded.
func Destination(to string) string {
	head, route, ok := strings.Cut(to, ":")
	if !ok {
		return to
	}
	if _, svc, found := strings.Cut(head, "@"); found {
		head = svc
	}
	return head + ":" + route
}

// Attr is a hydrakit-specific attribute key: hydra.<name>.
func Attr(name string) attribute.Key { return attribute.Key("hydra." + name) }
