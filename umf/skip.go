package umf

import "bytes"

// skip checks the syntax of the next JSON value as value would, and moves past it without writing
// anything. Unmarshal keeps hdr and bdy verbatim (Marshal normalizes them when it writes them), so
// it only needs to know that they are valid JSON; building their normalized form was wasted work.
// It accepts exactly what value accepts: same grammar, same depth limit, same error messages.
func (n *normalizer) skip() error {
	n.skipWS()
	if n.pos >= len(n.in) {
		return n.fail("unexpected end of JSON")
	}
	switch c := n.in[n.pos]; {
	case c == '{':
		return n.skipObject()
	case c == '[':
		return n.skipArray()
	case c == '"':
		return n.skipString()
	case c == '-' || c >= '0' && c <= '9':
		_, _, err := n.scanNumber()
		return err
	case c == 't':
		return n.skipLiteral("true")
	case c == 'f':
		return n.skipLiteral("false")
	case c == 'n':
		return n.skipLiteral("null")
	}
	return n.fail("unexpected character")
}

func (n *normalizer) skipLiteral(lit string) error {
	if !bytes.HasPrefix(n.in[n.pos:], []byte(lit)) {
		return n.fail("invalid literal")
	}
	n.pos += len(lit)
	return nil
}

// skipString checks a string: no raw control characters, valid escapes. Bytes of 0x80 and above
// are never an error (invalid UTF-8 becomes U+FFFD when normalized).
func (n *normalizer) skipString() error {
	in := n.in
	n.pos++
	for {
		for n.pos < len(in) && in[n.pos] != '"' && in[n.pos] != '\\' && in[n.pos] >= 0x20 {
			n.pos++
		}
		if n.pos >= len(in) {
			return n.fail("unterminated string")
		}
		switch in[n.pos] {
		case '"':
			n.pos++
			return nil
		case '\\':
			if n.pos+1 >= len(in) {
				return n.fail("unterminated string")
			}
			switch in[n.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				n.pos += 2
			case 'u':
				if _, ok := hex4(in[n.pos+2:]); !ok {
					return n.fail("invalid \\u escape")
				}
				n.pos += 6
			default:
				n.pos++
				return n.fail("invalid escape")
			}
		default:
			return n.fail("control character in string")
		}
	}
}

func (n *normalizer) skipObject() error {
	if n.depth++; n.depth > maxDepth {
		return n.fail("nesting too deep")
	}
	n.pos++
	if n.skipWS(); n.pos < len(n.in) && n.in[n.pos] == '}' {
		n.pos++
		n.depth--
		return nil
	}
	for {
		if n.skipWS(); n.pos >= len(n.in) || n.in[n.pos] != '"' {
			return n.fail("expected a string key")
		}
		if err := n.skipString(); err != nil {
			return err
		}
		if n.skipWS(); n.pos >= len(n.in) || n.in[n.pos] != ':' {
			return n.fail("expected ':'")
		}
		n.pos++
		if err := n.skip(); err != nil {
			return err
		}
		if n.skipWS(); n.pos >= len(n.in) {
			return n.fail("unterminated object")
		}
		switch n.in[n.pos] {
		case ',':
			n.pos++
		case '}':
			n.pos++
			n.depth--
			return nil
		default:
			return n.fail("expected ',' or '}'")
		}
	}
}

func (n *normalizer) skipArray() error {
	if n.depth++; n.depth > maxDepth {
		return n.fail("nesting too deep")
	}
	n.pos++
	if n.skipWS(); n.pos < len(n.in) && n.in[n.pos] == ']' {
		n.pos++
		n.depth--
		return nil
	}
	for {
		if err := n.skip(); err != nil {
			return err
		}
		if n.skipWS(); n.pos >= len(n.in) {
			return n.fail("unterminated array")
		}
		switch n.in[n.pos] {
		case ',':
			n.pos++
		case ']':
			n.pos++
			n.depth--
			return nil
		default:
			return n.fail("expected ',' or ']'")
		}
	}
}
