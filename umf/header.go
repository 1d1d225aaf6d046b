package umf

import "fmt"

// Header returns the value of the string-valued hdr field name (the last one if the key repeats, as in
// JavaScript). It reports false when hdr is absent, invalid, or has no string under that name.
func (m *Message) Header(name string) (string, bool) {
	var value string
	var found bool
	err := eachMember(m.Headers, func(key string, n *normalizer, start int) error {
		if key != name {
			return nil
		}
		value, found = "", false
		if n.pos < len(n.in) && n.in[n.pos] == '"' {
			s, err := n.str(nil, true)
			value, found = string(s), err == nil
			return err
		}
		return nil
	})
	return value, found && err == nil
}

// SetHeader sets the hdr field name to the string value, keeping the other fields and the field's
// position if it exists. Headers that are present but not a JSON object give an error wrapping
// ErrMalformed.
func (m *Message) SetHeader(name, value string) error {
	if len(m.Headers) == 0 {
		// The common case (a message's first header, e.g. its trace context): one member whose key
		// and value appendJSString writes in their canonical form already, so no Normalize pass.
		out := make([]byte, 0, len(name)+len(value)+len(`{"":""}`)) // no escapes: one allocation
		out = append(appendJSString(append(appendJSString(append(out, '{'), name), ':'), value), '}')
		m.Headers = out
		return nil
	}
	out := []byte{'{'}
	replaced := false
	if len(m.Headers) > 0 && !isJSONNull(m.Headers) {
		canon, err := Normalize(m.Headers)
		if err != nil {
			return fmt.Errorf("hdr: %w", err)
		}
		if canon[0] != '{' {
			return fmt.Errorf("%w: hdr is not a JSON object", ErrMalformed)
		}
		err = eachMember(canon, func(key string, n *normalizer, start int) error {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(appendJSString(out, key), ':')
			if key == name {
				replaced = true
				out = appendJSString(out, value)
			}
			var err error
			n.scratch, err = n.value(n.scratch[:0])
			if key != name {
				out = append(out, n.in[start:n.pos]...)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	if !replaced {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendJSString(append(appendJSString(out, name), ':'), value)
	}
	hdr, err := Normalize(append(out, '}'))
	if err != nil {
		return err
	}
	m.Headers = hdr
	return nil
}

// eachMember calls fn for every member of the JSON object raw, with the decoded key and the reader
// positioned at the value; fn may consume the value, otherwise eachMember skips it.
func eachMember(raw []byte, fn func(key string, n *normalizer, start int) error) error {
	n := getNormalizer(raw)
	defer putNormalizer(n)
	if n.skipWS(); n.pos >= len(raw) || raw[n.pos] != '{' {
		return n.fail("expected a JSON object")
	}
	n.pos++
	if n.skipWS(); n.pos < len(raw) && raw[n.pos] == '}' {
		return nil
	}
	for {
		if n.skipWS(); n.pos >= len(raw) || raw[n.pos] != '"' {
			return n.fail("expected a string key")
		}
		key, err := n.str(nil, true)
		if err != nil {
			return err
		}
		if n.skipWS(); n.pos >= len(raw) || raw[n.pos] != ':' {
			return n.fail("expected ':'")
		}
		n.pos++
		n.skipWS()
		start := n.pos
		if err := fn(string(key), n, start); err != nil {
			return err
		}
		if n.pos == start {
			if n.scratch, err = n.value(n.scratch[:0]); err != nil {
				return err
			}
		}
		if n.skipWS(); n.pos >= len(raw) {
			return n.fail("unterminated object")
		}
		c := raw[n.pos]
		n.pos++
		if c == '}' {
			return nil
		}
		if c != ',' {
			return n.fail("expected ',' or '}'")
		}
	}
}
