package umftrace

import (
	"bytes"
	"context"
	"reflect"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit/umf"
)

// w3cOnly reports whether p is made only of OpenTelemetry's own W3C propagators: TraceContext,
// Baggage, and composites of them (NewCompositeTextMapPropagator returns a slice of an unexported
// type, hence the reflection, done once per Tracer). Such a propagator is what Tracer.Inject and
// Tracer.Extract take a shortcut for in the common case (decision 51): a message with no hdr but
// the traceparent, which otherwise costs a string built and another read out, and four scans of hdr.
// Anything else (the global propagator's delegate, a custom one) goes through p.
func w3cOnly(p propagation.TextMapPropagator) (traceContext, ok bool) {
	switch p.(type) {
	case propagation.TraceContext:
		return true, true
	case propagation.Baggage:
		return false, true
	case nil:
		return false, false
	}
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Slice || v.Type().PkgPath() != reflect.TypeFor[propagation.TraceContext]().PkgPath() {
		return false, false
	}
	for i := range v.Len() {
		part, _ := v.Index(i).Interface().(propagation.TextMapPropagator)
		tc, ok := w3cOnly(part)
		if !ok {
			return false, false
		}
		traceContext = traceContext || tc
	}
	return traceContext, true
}

// traceparentHdr is the hdr that carries a trace context alone: {"traceparent":"00-<trace
// ID>-<span ID>-<flags>"}, written as propagation.TraceContext writes the value.
const traceparentHdr = `{"traceparent":"00-` + `0123456789abcdef0123456789abcdef-0123456789abcdef-00"}`

// injectTraceparent writes sc as the whole hdr of a message that has none, in one allocation; it
// reports false, leaving msg as it is, when the context needs more (a tracestate, or baggage in
// ctx) or msg has a hdr: then the propagator writes it.
func injectTraceparent(ctx context.Context, msg *umf.Message, sc trace.SpanContext, withBaggage bool) bool {
	if len(msg.Headers) != 0 || sc.TraceState().Len() != 0 || withBaggage && baggageIn(ctx) {
		return false
	}
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 0, len(traceparentHdr))
	out = append(out, traceparentHdr[:len(`{"traceparent":"00-`)]...)
	tid, sid := sc.TraceID(), sc.SpanID()
	for _, b := range tid {
		out = append(out, hexDigits[b>>4], hexDigits[b&0xf])
	}
	out = append(out, '-')
	for _, b := range sid {
		out = append(out, hexDigits[b>>4], hexDigits[b&0xf])
	}
	flags := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	out = append(out, '-', hexDigits[flags>>4], hexDigits[flags&0xf], '"', '}')
	msg.Headers = out
	return true
}

// baggageIn reports whether ctx carries baggage to propagate.
func baggageIn(ctx context.Context) bool { return baggage.FromContext(ctx).Len() != 0 }

// isLoneTraceparent reports whether hdr is a traceparent alone, as injectTraceparent writes it.
func isLoneTraceparent(hdr []byte) bool {
	const head = `{"traceparent":"`
	return len(hdr) == len(traceparentHdr) && string(hdr[:len(head)]) == head &&
		string(hdr[len(hdr)-2:]) == `"}` && bytes.IndexByte(hdr[len(head):len(hdr)-2], '"') < 0
}

// extractTraceparent reads the trace context of a hdr whose only trace field is traceparent, in
// the flat form hydrakit writes (no escape, no nested value): known reports whether it could tell,
// and sc is what propagation.TraceContext would extract (invalid: nothing to extract). A hdr with
// a tracestate or baggage field, or in any other form, is not known: the propagator reads it.
func extractTraceparent(hdr []byte) (sc trace.SpanContext, known bool) {
	if isLoneTraceparent(hdr) { // injectTraceparent's hdr, tested first
		if sc = parseTraceparent(hdr[len(`{"traceparent":"`) : len(hdr)-2]); sc.IsValid() {
			return sc, true
		}
	}
	if bytes.IndexByte(hdr, '\\') >= 0 || bytes.Count(hdr, []byte{'{'}) != 1 || bytes.IndexByte(hdr, '[') >= 0 ||
		bytes.Contains(hdr, []byte("tracestate")) || bytes.Contains(hdr, []byte("baggage")) {
		return sc, false
	}
	i := lastQuoted(hdr, "traceparent")
	if i < 0 {
		return sc, true
	}
	rest := hdr[i+len(`"traceparent"`):]
	if len(rest) < 2 || rest[0] != ':' || rest[1] != '"' {
		return sc, false
	}
	end := bytes.IndexByte(rest[2:], '"')
	if end < 0 {
		return sc, false
	}
	return parseTraceparent(rest[2 : 2+end]), true
}

// parseTraceparent parses a traceparent value as propagation.TraceContext does: version (not ff),
// trace ID, span ID and flags in lower-case hex, nothing more in version 00 and only the sampled and
// random flags kept. The result is invalid when the value is.
func parseTraceparent(h []byte) trace.SpanContext {
	var ver, flags [1]byte
	var scc trace.SpanContextConfig
	if !hexPart(ver[:], &h) || ver[0] == 0xff || !hexPart(scc.TraceID[:], &h) || !hexPart(scc.SpanID[:], &h) ||
		!hexPart(flags[:], &h) || ver[0] == 0 && (len(h) != 0 || flags[0] > 3) {
		return trace.SpanContext{}
	}
	scc.TraceFlags = trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom)
	scc.Remote = true
	return trace.NewSpanContext(scc)
}

// hexPart decodes the part of *h before the next '-' into dst, which it must fill exactly, and
// moves *h past the '-' (to the end when there is none).
func hexPart(dst []byte, h *[]byte) bool {
	part, rest, _ := bytes.Cut(*h, []byte{'-'})
	*h = rest
	if len(part) != 2*len(dst) {
		return false
	}
	// A table, not a switch: the digits of random IDs defeat branch prediction. An invalid digit
	// maps to 0xff, so one check of the high bits of all of them ORed finds any.
	var invalid byte
	for i := range dst {
		hi, lo := unhex[part[2*i]], unhex[part[2*i+1]]
		dst[i] = hi<<4 | lo
		invalid |= hi | lo
	}
	return invalid&0xf0 == 0
}

// unhex maps a lower-case hex digit to its value and anything else to 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range []byte("0123456789abcdef") {
		t[c] = byte(i)
	}
	return t
}()
