package umf

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
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

func (n *normalizer) object(dst []byte) ([]byte, error) {
	if n.depth++; n.depth > maxDepth {
		return dst, n.fail("nesting too deep")
	}
	n.pos++
	objStart, base := len(dst), len(n.members)
	dst = append(dst, '{')
	if n.skipWS(); n.pos < len(n.in) && n.in[n.pos] == '}' {
		n.pos++
		n.depth--
		return append(dst, '}'), nil
	}
	var (
		reorder, seenNamed, seenIndex bool
		lastIndex                     uint32
		seen                          map[string]struct{} // only for large objects
		err                           error
	)
	for {
		if n.skipWS(); n.pos >= len(n.in) || n.in[n.pos] != '"' {
			return dst, n.fail("expected a string key")
		}
		if len(n.members) > base {
			dst = append(dst, ',')
		}
		m := member{keyStart: len(dst)}
		if dst, err = n.str(dst, false); err != nil {
			return dst, err
		}
		m.keyEnd = len(dst)
		key := dst[m.keyStart:m.keyEnd]
		m.index, m.isIndex = arrayIndex(key[1 : len(key)-1])
		if m.isIndex {
			reorder = reorder || seenNamed || seenIndex && m.index <= lastIndex
			seenIndex, lastIndex = true, m.index
		} else {
			seenNamed = true
		}
		if !reorder { // a duplicated key forces the slow path too
			if count := len(n.members) - base; count < 16 {
				for _, p := range n.members[base:] {
					if bytes.Equal(dst[p.keyStart:p.keyEnd], key) {
						reorder = true
						break
					}
				}
			} else {
				if seen == nil {
					seen = make(map[string]struct{}, 2*count)
					for _, p := range n.members[base:] {
						seen[string(dst[p.keyStart:p.keyEnd])] = struct{}{}
					}
				}
				_, reorder = seen[string(key)]
				seen[string(key)] = struct{}{}
			}
		}
		if n.skipWS(); n.pos >= len(n.in) || n.in[n.pos] != ':' {
			return dst, n.fail("expected ':'")
		}
		n.pos++
		dst = append(dst, ':')
		if dst, err = n.value(dst); err != nil {
			return dst, err
		}
		m.valEnd = len(dst)
		n.members = append(n.members, m)
		if n.skipWS(); n.pos >= len(n.in) {
			return dst, n.fail("unterminated object")
		}
		if c := n.in[n.pos]; c == '}' {
			n.pos++
			break
		} else if c != ',' {
			return dst, n.fail("expected ',' or '}'")
		}
		n.pos++
	}
	if reorder {
		dst = n.reorder(dst, objStart, base)
	}
	n.members = n.members[:base]
	n.depth--
	return append(dst, '}'), nil
}

// reorder rewrites the members of the object starting at objStart in JavaScript's property order:
// array indices ascending, then the other keys in creation order; a repeated key keeps the position of
// its first occurrence and the value of its last, as JSON.parse's CreateDataProperty does.
func (n *normalizer) reorder(dst []byte, objStart, base int) []byte {
	type entry struct {
		key, val []byte
		m        member
	}
	off := objStart + 1
	n.scratch = append(n.scratch[:0], dst[off:]...)
	ms := n.members[base:]
	entries := make([]entry, 0, len(ms))
	first := make(map[string]int, len(ms))
	for _, m := range ms {
		key := n.scratch[m.keyStart-off : m.keyEnd-off]
		val := n.scratch[m.keyEnd+1-off : m.valEnd-off]
		if i, ok := first[string(key)]; ok {
			entries[i].val = val
			continue
		}
		first[string(key)] = len(entries)
		entries = append(entries, entry{key: key, val: val, m: m})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.m.isIndex && b.m.isIndex:
			return cmpUint32(a.m.index, b.m.index)
		case a.m.isIndex:
			return -1
		case b.m.isIndex:
			return 1
		}
		return 0
	})
	dst = dst[:off]
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, e.key...), ':'), e.val...)
	}
	return dst
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arrayIndex reports whether key (unquoted, canonical) is an ECMAScript array index: the canonical
// decimal form of an integer from 0 to 2^32-2. Such keys are enumerated first, in numeric order.
func arrayIndex(key []byte) (uint32, bool) {
	if len(key) == 0 || len(key) > 10 || key[0] == '0' && len(key) > 1 {
		return 0, false
	}
	var v uint64
	for _, c := range key {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > 1<<32-2 {
		return 0, false
	}
	return uint32(v), true
}

// number appends the JavaScript rendering of the next JSON number.
func (n *normalizer) number(dst []byte) ([]byte, error) {
	lit, simple, err := n.scanNumber()
	if err != nil {
		return dst, err
	}
	if simple && len(lit) <= 15 && string(lit) != "-0" || canonicalDecimal(lit) {
		return append(dst, lit...), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil && !isRangeErr(err) {
		return dst, n.fail("invalid number")
	}
	return appendJSNumber(dst, f), nil
}

// canonicalDecimal reports whether lit, a valid JSON number, is a plain decimal fraction that
// JavaScript prints unchanged: no exponent, no trailing zero, at least 1e-6 in magnitude, and at most
// 15 significant digits (so it is the shortest representation of its double; 15 is DBL_DIG).
func canonicalDecimal(lit []byte) bool {
	if len(lit) > 0 && lit[0] == '-' {
		lit = lit[1:]
	}
	dot := bytes.IndexByte(lit, '.')
	if dot < 0 || lit[len(lit)-1] == '0' || bytes.ContainsAny(lit, "eE") {
		return false
	}
	digits := lit[:dot]
	if lit[0] == '0' { // 0.xxx: leading zeros of the fraction are not significant
		zeros := 0
		for _, c := range lit[dot+1:] {
			if c != '0' {
				break
			}
			zeros++
		}
		if zeros > 5 {
			return false
		}
		digits = lit[dot+1+zeros:]
		return len(digits) <= 15
	}
	return len(digits)+len(lit)-dot-1 <= 15
}

// scanNumber reads a number literal; simple reports an integer without fraction or exponent.
func (n *normalizer) scanNumber() (lit []byte, simple bool, err error) {
	in, start := n.in, n.pos
	p := n.pos
	if p < len(in) && in[p] == '-' {
		p++
	}
	switch {
	case p < len(in) && in[p] == '0':
		p++
	case p < len(in) && in[p] >= '1' && in[p] <= '9':
		for p < len(in) && in[p] >= '0' && in[p] <= '9' {
			p++
		}
	default:
		n.pos = p
		return nil, false, n.fail("invalid number")
	}
	simple = true
	if p < len(in) && in[p] == '.' {
		p++
		if p >= len(in) || in[p] < '0' || in[p] > '9' {
			n.pos = p
			return nil, false, n.fail("invalid number fraction")
		}
		for p < len(in) && in[p] >= '0' && in[p] <= '9' {
			p++
		}
		simple = false
	}
	if p < len(in) && (in[p] == 'e' || in[p] == 'E') {
		p++
		if p < len(in) && (in[p] == '+' || in[p] == '-') {
			p++
		}
		if p >= len(in) || in[p] < '0' || in[p] > '9' {
			n.pos = p
			return nil, false, n.fail("invalid number exponent")
		}
		for p < len(in) && in[p] >= '0' && in[p] <= '9' {
			p++
		}
		simple = false
	}
	n.pos = p
	return in[start:p], simple, nil
}
