package umf

import (
	"bytes"
	"fmt"
	"sync"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack. V8 accepts deeper documents in
// JSON.parse but JSON.stringify throws on them long before Redis payload sizes make this matter.
const maxDepth = 10000

// Normalize returns what JavaScript's JSON.stringify(JSON.parse(raw)) returns, byte for byte:
// whitespace removed; object keys that are array indices ("0".."4294967294") first in ascending
// numeric order, other keys in first-seen order, a duplicated key keeping its first position and its
// last value; numbers as Number.prototype.toString writes them (so 1e400 becomes null and -0 becomes 0);
// strings with only '"', '\\' and control characters escaped, lone surrogates kept as \udxxx escapes, and
// invalid UTF-8 replaced by U+FFFD as Node's UTF-8 decoder does. The error wraps ErrMalformed.
func Normalize(raw []byte) ([]byte, error) {
	return appendNormalized(make([]byte, 0, len(raw)), raw)
}

// appendNormalized appends the normalized form of raw to dst.
func appendNormalized(dst, raw []byte) ([]byte, error) {
	n := getNormalizer(raw)
	defer putNormalizer(n)
	dst, err := n.value(dst)
	if err != nil {
		return dst, err
	}
	if n.skipWS(); n.pos != len(raw) {
		return dst, n.fail("data after the JSON value")
	}
	return dst, nil
}

// member records where one object member landed in the output, so an object can be reordered after
// the fact when its keys were not already in JavaScript's order.
type member struct {
	keyStart, keyEnd, valEnd int // keyStart..keyEnd is the quoted key; the value follows a ':'
	index                    uint32
	isIndex                  bool
}

// normalizer is a strict JSON (RFC 8259, as JSON.parse accepts it) reader that writes the canonical
// form while it reads.
type normalizer struct {
	in      []byte
	pos     int
	depth   int
	members []member // a stack shared by nested objects
	scratch []byte
	key     []byte // the decoded key of the member being read (Unmarshal)
	strs    []byte // the decoded string fields of the message being read (Unmarshal)
}

var normalizers = sync.Pool{New: func() any { return new(normalizer) }}

func getNormalizer(in []byte) *normalizer {
	n := normalizers.Get().(*normalizer)
	n.in, n.pos, n.depth, n.strs = in, 0, 0, n.strs[:0]
	return n
}

func putNormalizer(n *normalizer) {
	if cap(n.scratch) > 64<<10 || cap(n.strs) > 64<<10 || cap(n.members) > 1024 {
		return // let oversized buffers go
	}
	n.in, n.members, n.scratch = nil, n.members[:0], n.scratch[:0]
	normalizers.Put(n)
}

func (n *normalizer) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, n.pos)
}

func (n *normalizer) skipWS() {
	for n.pos < len(n.in) {
		switch n.in[n.pos] {
		case ' ', '\t', '\n', '\r':
			n.pos++
		default:
			return
		}
	}
}

// value appends the canonical form of the next JSON value.
func (n *normalizer) value(dst []byte) ([]byte, error) {
	n.skipWS()
	if n.pos >= len(n.in) {
		return dst, n.fail("unexpected end of JSON")
	}
	switch c := n.in[n.pos]; {
	case c == '{':
		return n.object(dst)
	case c == '[':
		return n.array(dst)
	case c == '"':
		return n.str(dst, false)
	case c == '-' || c >= '0' && c <= '9':
		return n.number(dst)
	case c == 't':
		return n.literal(dst, "true")
	case c == 'f':
		return n.literal(dst, "false")
	case c == 'n':
		return n.literal(dst, "null")
	}
	return dst, n.fail("unexpected character")
}

func (n *normalizer) literal(dst []byte, lit string) ([]byte, error) {
	if !bytes.HasPrefix(n.in[n.pos:], []byte(lit)) {
		return dst, n.fail("invalid literal")
	}
	n.pos += len(lit)
	return append(dst, lit...), nil
}

func (n *normalizer) array(dst []byte) ([]byte, error) {
	if n.depth++; n.depth > maxDepth {
		return dst, n.fail("nesting too deep")
	}
	n.pos++
	dst = append(dst, '[')
	if n.skipWS(); n.pos < len(n.in) && n.in[n.pos] == ']' {
		n.pos++
		n.depth--
		return append(dst, ']'), nil
	}
	for {
		var err error
		if dst, err = n.value(dst); err != nil {
			return dst, err
		}
		if n.skipWS(); n.pos >= len(n.in) {
			return dst, n.fail("unterminated array")
		}
		switch n.in[n.pos] {
		case ',':
			n.pos++
			dst = append(dst, ',')
		case ']':
			n.pos++
			n.depth--
			return append(dst, ']'), nil
		default:
			return dst, n.fail("expected ',' or ']'")
		}
	}
}
