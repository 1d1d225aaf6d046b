package umf

import (
	"bytes"
	"fmt"
	"math"
)

// Marshal returns the short wire form: compact JSON with the fields present in Hydra's order (to, frm,
// hdr, mid, rmid, sig, tmo, ts, typ, ver, via, fwd, bdy, aut) followed by pri, ttl and for, which Node
// drops. Headers and Body are written as JSON.stringify would write them. Invalid JSON in Headers or
// Body, a non-object Headers, or a non-finite number gives an error wrapping ErrMalformed.
func (m *Message) Marshal() ([]byte, error) {
	n := 160 + len(m.To) + len(m.From) + len(m.Headers) + len(m.MID) + len(m.RMID) + len(m.Signature) +
		len(m.Timestamp) + len(m.Type) + len(m.Version) + len(m.Via) + len(m.Forward) + len(m.Body) +
		len(m.Authorization) + len(m.For) + len(m.timeoutText)
	return m.AppendMarshal(make([]byte, 0, n))
}

// AppendMarshal appends the short wire form of m to dst, see Marshal.
func (m *Message) AppendMarshal(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, '{')
	var err error
	dst = appendStringField(dst, start, "to", m.To)
	dst = appendStringField(dst, start, "frm", m.From)
	if dst, err = appendHeaders(dst, start, "hdr", m.Headers); err != nil {
		return dst[:start], err
	}
	dst = appendStringField(dst, start, "mid", m.MID)
	dst = appendStringField(dst, start, "rmid", m.RMID)
	dst = appendStringField(dst, start, "sig", m.Signature)
	if dst, err = m.appendTimeout(dst, start, "tmo"); err != nil {
		return dst[:start], err
	}
	dst = appendStringField(dst, start, "ts", m.Timestamp)
	dst = appendStringField(dst, start, "typ", m.Type)
	dst = appendStringField(dst, start, "ver", m.Version)
	dst = appendStringField(dst, start, "via", m.Via)
	dst = appendStringField(dst, start, "fwd", m.Forward)
	if m.bodyIsCanonical() {
		dst = append(appendKey(dst, start, "bdy"), m.Body...) // SetBody's output, normalized already
	} else if dst, err = appendBody(dst, start, "bdy", m.Body); err != nil {
		return dst[:start], err
	}
	dst = appendStringField(dst, start, "aut", m.Authorization)
	if dst, err = appendNumberField(dst, start, "pri", m.Priority); err != nil {
		return dst[:start], err
	}
	if dst, err = appendNumberField(dst, start, "ttl", m.TTL); err != nil {
		return dst[:start], err
	}
	dst = appendStringField(dst, start, "for", m.For)
	return append(dst, '}'), nil
}

// bodyIsCanonical reports whether Body is still the slice SetBody set.
func (m *Message) bodyIsCanonical() bool {
	return len(m.Body) > 0 && len(m.Body) == len(m.canonBody) && &m.Body[0] == &m.canonBody[0]
}

// appendKey writes `"key":`, preceded by a comma unless it is the first field after the '{' at start.
func appendKey(dst []byte, start int, key string) []byte {
	if len(dst) > start+1 {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func appendStringField(dst []byte, start int, key, v string) []byte {
	if v == "" {
		return dst
	}
	return appendJSString(appendKey(dst, start, key), v)
}

func appendNumberField(dst []byte, start int, key string, v float64) ([]byte, error) {
	if v == 0 {
		return dst, nil
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dst, fmt.Errorf("%w: %s is not a finite number", ErrMalformed, key)
	}
	return appendJSNumber(appendKey(dst, start, key), v), nil
}

// appendTimeout writes Timeout, as the numeric string it was read from while it still has that
// string's value (Node passes a string tmo on unchanged and signs it as a string).
func (m *Message) appendTimeout(dst []byte, start int, key string) ([]byte, error) {
	if m.timeoutText != "" {
		if v, err := parseNumericString([]byte(m.timeoutText)); err == nil && v == m.Timeout {
			return appendJSString(appendKey(dst, start, key), m.timeoutText), nil
		}
	}
	return appendNumberField(dst, start, key, m.Timeout)
}

func appendBody(dst []byte, start int, key string, raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return dst, nil
	}
	dst, err := appendNormalized(appendKey(dst, start, key), raw)
	if err != nil {
		return dst, fmt.Errorf("%s: %w", key, err)
	}
	return dst, nil
}

// appendHeaders writes hdr, which must be an object; a JSON null counts as absent.
func appendHeaders(dst []byte, start int, key string, raw []byte) ([]byte, error) {
	if len(raw) == 0 || isJSONNull(raw) {
		return dst, nil
	}
	if isFlatPlainObject(raw) { // as a trace context travels: nothing to normalize
		return append(appendKey(dst, start, key), raw...), nil
	}
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return dst, fmt.Errorf("%w: %s is not a JSON object", ErrMalformed, key)
	}
	return appendBody(dst, start, key, raw)
}

// isJSONNull reports whether raw is the JSON literal null, give or take whitespace.
func isJSONNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }
