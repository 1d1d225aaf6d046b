package umf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// slot holds one spelling's value while reading; a JSON null leaves it unset, as Node ignores it.
type slot struct {
	lo, hi int // a string value: n.strs[lo:hi]
	num    float64
	raw    []byte // a span of the input
	truthy bool   // set and truthy in JavaScript; only truthy values count
}

// Unmarshal reads a message in the short or long form (or a mix) as Node's createMessage does: when
// both spellings of a field are present the long one wins unless it is falsy, and falsy values (null,
// "", 0, false) are absent, so a bdy of 0 or false is dropped as Node drops it. Unknown keys are
// ignored, rmi among them: Node reads only rmid. Where Node would serve a message whose meaning is
// clear, so does Unmarshal: a tmo, pri or ttl that is a string holding a JSON number ("5") is read as
// that number (and tmo is written back as the same string while Timeout keeps its value, as Node
// writes it), and an hdr that is not an object is ignored. Invalid JSON, a non-object, or any other
// field of the wrong JSON type (a non-string to, a tmo of true or "five") gives an error wrapping
// ErrMalformed.
func Unmarshal(data []byte) (*Message, error) {
	m := new(Message)
	if err := m.unmarshal(data); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Message) unmarshal(data []byte) error {
	n := getNormalizer(data)
	defer putNormalizer(n)
	var slots [numFields][2]slot // [f][0] long, [f][1] short
	if n.skipWS(); n.pos >= len(data) || data[n.pos] != '{' {
		return n.fail("a UMF message must be a JSON object")
	}
	n.pos++
	if n.skipWS(); n.pos < len(data) && data[n.pos] == '}' {
		n.pos++
	} else {
		for {
			if err := n.readMember(&slots); err != nil {
				return err
			}
			if n.skipWS(); n.pos >= len(data) {
				return n.fail("unterminated object")
			}
			c := data[n.pos]
			n.pos++
			if c == '}' {
				break
			}
			if c != ',' {
				n.pos--
				return n.fail("expected ',' or '}'")
			}
		}
	}
	if n.skipWS(); n.pos != len(data) {
		return n.fail("data after the JSON value")
	}
	m.fill(&slots, n.strs)
	return nil
}

// readMember reads one "key": value pair into its slot.
func (n *normalizer) readMember(slots *[numFields][2]slot) error {
	if n.skipWS(); n.pos >= len(n.in) || n.in[n.pos] != '"' {
		return n.fail("expected a string key")
	}
	var err error
	if n.key, err = n.str(n.key[:0], true); err != nil {
		return err
	}
	key := n.key
	if n.skipWS(); n.pos >= len(n.in) || n.in[n.pos] != ':' {
		return n.fail("expected ':'")
	}
	n.pos++
	n.skipWS()
	f, long, known := lookupField(key)
	if !known {
		return n.skip()
	}
	s := &slots[f][0]
	if !long {
		s = &slots[f][1]
	}
	*s = slot{}
	if n.pos < len(n.in) && n.in[n.pos] == 'n' {
		_, err = n.literal(n.scratch[:0], "null")
		return err
	}
	start := n.pos
	switch f {
	case fHeaders, fBody:
		if f == fHeaders && (n.pos >= len(n.in) || n.in[n.pos] != '{') {
			return n.skip() // Node carries any hdr along; one that is not an object means nothing here
		}
		if err = n.skip(); err != nil {
			return err
		}
		s.raw = n.in[start:n.pos]
		s.truthy = truthyRaw(s.raw)
	case fTimeout, fPriority, fTTL:
		if n.pos < len(n.in) && n.in[n.pos] == '"' {
			return n.numericString(s, f, key)
		}
		if n.pos >= len(n.in) || n.in[n.pos] != '-' && (n.in[n.pos] < '0' || n.in[n.pos] > '9') {
			return fmt.Errorf("%w: %s must be a number, at offset %d", ErrMalformed, key, n.pos)
		}
		lit, simple, err := n.scanNumber()
		if err != nil {
			return err
		}
		if s.num, err = parseNumber(lit, simple); err != nil {
			return fmt.Errorf("%w: %s is out of range, at offset %d", ErrMalformed, key, start)
		}
		s.truthy = s.num != 0
	default:
		if n.pos >= len(n.in) || n.in[n.pos] != '"' {
			return fmt.Errorf("%w: %s must be a string, at offset %d", ErrMalformed, key, n.pos)
		}
		s.lo = len(n.strs)
		if n.strs, err = n.str(n.strs, true); err != nil {
			return err
		}
		s.hi = len(n.strs)
		s.truthy = s.hi > s.lo
	}
	return nil
}

// numericString reads a string value of tmo, pri or ttl: "" is falsy (absent), a JSON number is read
// as that number, anything else is malformed. Only tmo keeps its text, to be written back as Node
// writes it; Node drops pri and ttl.
func (n *normalizer) numericString(s *slot, f field, key []byte) error {
	start := n.pos
	var err error
	s.lo = len(n.strs)
	if n.strs, err = n.str(n.strs, true); err != nil {
		return err
	}
	s.hi = len(n.strs)
	if s.hi > s.lo {
		if s.num, err = parseNumericString(n.strs[s.lo:s.hi]); err != nil {
			return fmt.Errorf("%w: %s must be a number or a string holding one, at offset %d", ErrMalformed, key, start)
		}
		s.truthy = true // a non-empty string, even "0"
	}
	if f != fTimeout || !s.truthy {
		n.strs, s.hi = n.strs[:s.lo], s.lo
	}
	return nil
}

// parseNumericString parses text, which must be exactly a JSON number within a double's range.
func parseNumericString(text []byte) (float64, error) {
	n := getNormalizer(text)
	defer putNormalizer(n)
	lit, simple, err := n.scanNumber()
	if err != nil {
		return 0, err
	}
	if n.pos != len(text) {
		return 0, n.fail("not a number")
	}
	return parseNumber(lit, simple)
}

// truthyRaw reports whether the JSON value raw is truthy in JavaScript: everything but false, null,
// "" and numbers equal to zero. 1e999 is Infinity, which is truthy even though JSON.stringify writes it
// as null. Invalid JSON counts as truthy, so that Marshal, not a caller deciding presence, reports it.
func truthyRaw(raw []byte) bool {
	raw = bytes.Trim(raw, " \t\r\n")
	switch {
	case len(raw) == 0:
		return false
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		if isDigits(raw) { // an integer: truthy unless all zeros
			return bytes.ContainsFunc(raw, func(r rune) bool { return r >= '1' && r <= '9' })
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		return f != 0 || err != nil && !isRangeErr(err)
	}
	switch string(raw) {
	case "false", "null", `""`:
		return false
	}
	return true
}

// isDigits reports whether raw is an optional '-' and decimal digits only.
func isDigits(raw []byte) bool {
	if len(raw) > 0 && raw[0] == '-' {
		raw = raw[1:]
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(raw) > 0
}

// fill resolves each field (the long spelling unless it is falsy, then the short one). It copies the
// raw JSON out of the input in one allocation and the strings in another, so the message never aliases
// the caller's buffer and a typical message costs three allocations.
func (m *Message) fill(slots *[numFields][2]slot, strs []byte) {
	var pick [numFields]*slot
	var absent slot // a field no spelling of which was present
	rawSize, strSize := 0, 0
	for f := range slots {
		long, short := &slots[f][0], &slots[f][1]
		switch {
		case long.truthy:
			pick[f] = long
		case short.truthy:
			pick[f] = short
		default:
			pick[f] = &absent
		}
		rawSize += len(pick[f].raw)
		strSize += pick[f].hi - pick[f].lo
	}
	if p := pick[fVersion]; string(strs[p.lo:p.hi]) == Version {
		strSize -= len(Version) // the constant serves
	}
	buf := make([]byte, 0, rawSize)
	raw := func(f field) []byte {
		if pick[f].raw == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, pick[f].raw...)
		return buf[start:len(buf):len(buf)]
	}
	var all string
	if strSize > 0 {
		var joined strings.Builder // one allocation, no second copy as string(bytes) would make
		joined.Grow(strSize)
		for f, p := range pick {
			if field(f) != fVersion || string(strs[p.lo:p.hi]) != Version {
				joined.Write(strs[p.lo:p.hi])
			}
		}
		all = joined.String()
	}
	next := 0
	str := func(f field) string {
		p := pick[f]
		if f == fVersion && string(strs[p.lo:p.hi]) == Version {
			return Version
		}
		s := all[next : next+p.hi-p.lo]
		next += p.hi - p.lo
		return s
	}
	// In field order, as joined above.
	m.To = str(fTo)
	m.From = str(fFrom)
	m.Headers = raw(fHeaders)
	m.MID = str(fMID)
	m.RMID = str(fRMID)
	m.Signature = str(fSignature)
	m.timeoutText = str(fTimeout)
	m.Timeout = pick[fTimeout].num
	m.Timestamp = str(fTimestamp)
	m.Type = str(fType)
	m.Version = str(fVersion)
	m.Via = str(fVia)
	m.Forward = str(fForward)
	m.Body = raw(fBody)
	m.Authorization = str(fAuthorization)
	m.Priority = pick[fPriority].num
	m.TTL = pick[fTTL].num
	m.For = str(fFor)
}
