package umf

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// plain marks the bytes JSON.stringify copies unchanged without looking further: printable ASCII
// other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads the JSON string at n.pos. With decode false it appends the string's canonical JSON form
// (quotes included); with decode true it appends the decoded text, lone surrogates as WTF-8 (three
// bytes ED A0..BF xx) so they survive a round trip through a Go string.
func (n *normalizer) str(dst []byte, decode bool) ([]byte, error) {
	in := n.in
	n.pos++
	if !decode {
		dst = append(dst, '"')
	}
	for {
		start := n.pos
		for n.pos < len(in) && plain[in[n.pos]] {
			n.pos++
		}
		dst = append(dst, in[start:n.pos]...)
		if n.pos >= len(in) {
			return dst, n.fail("unterminated string")
		}
		switch c := in[n.pos]; {
		case c == '"':
			n.pos++
			if !decode {
				dst = append(dst, '"')
			}
			return dst, nil
		case c < 0x20:
			return dst, n.fail("control character in string")
		case c >= utf8.RuneSelf:
			if r, size := utf8.DecodeRune(in[n.pos:]); r != utf8.RuneError || size > 1 {
				dst = append(dst, in[n.pos:n.pos+size]...)
				n.pos += size
			} else {
				dst = append(dst, "\uFFFD"...)
				n.pos += invalidSubpart(in[n.pos:])
			}
		default:
			var err error
			if dst, err = n.escape(dst, decode); err != nil {
				return dst, err
			}
		}
	}
}

// escape reads one backslash escape (a surrogate pair counts as one).
func (n *normalizer) escape(dst []byte, decode bool) ([]byte, error) {
	in := n.in
	if n.pos+1 >= len(in) {
		return dst, n.fail("unterminated string")
	}
	var r rune
	switch in[n.pos+1] {
	case '"':
		r = '"'
	case '\\':
		r = '\\'
	case '/':
		r = '/'
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		var ok bool
		if r, ok = hex4(in[n.pos+2:]); !ok {
			return dst, n.fail("invalid \\u escape")
		}
		n.pos += 6
		if r >= 0xD800 && r <= 0xDBFF && n.pos+1 < len(in) && in[n.pos] == '\\' && in[n.pos+1] == 'u' {
			if lo, ok := hex4(in[n.pos+2:]); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				n.pos += 6
				return utf8.AppendRune(dst, 0x10000+(r-0xD800)<<10+(lo-0xDC00)), nil
			}
		}
		if decode {
			return appendWTF8(dst, r), nil
		}
		return appendJSRune(dst, r), nil
	default:
		n.pos++
		return dst, n.fail("invalid escape")
	}
	n.pos += 2
	if decode {
		return append(dst, byte(r)), nil
	}
	return appendJSRune(dst, r), nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendWTF8 appends r, encoding a lone surrogate the way WTF-8 does, which Go's encoder refuses.
func appendWTF8(dst []byte, r rune) []byte {
	if r >= 0xD800 && r <= 0xDFFF {
		return append(dst, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return utf8.AppendRune(dst, r)
}

// appendJSRune appends r as JSON.stringify writes it inside a string.
func appendJSRune(dst []byte, r rune) []byte {
	switch {
	case r == '"':
		return append(dst, '\\', '"')
	case r == '\\':
		return append(dst, '\\', '\\')
	case r < 0x20:
		switch r {
		case '\b':
			return append(dst, '\\', 'b')
		case '\f':
			return append(dst, '\\', 'f')
		case '\n':
			return append(dst, '\\', 'n')
		case '\r':
			return append(dst, '\\', 'r')
		case '\t':
			return append(dst, '\\', 't')
		}
		return append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xF])
	case r >= 0xD800 && r <= 0xDFFF:
		return append(dst, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
	}
	return utf8.AppendRune(dst, r)
}

// appendJSString appends s quoted as JSON.stringify would. WTF-8 surrogates (from appendWTF8) become
// \udxxx escapes again; other invalid UTF-8 becomes U+FFFD.
func appendJSString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		start := i
		for i < len(s) && plain[s[i]] {
			i++
		}
		dst = append(dst, s[start:i]...)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendJSRune(dst, rune(c))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r != utf8.RuneError || size > 1:
			dst = append(dst, s[i:i+size]...)
		case c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF:
			size = 3
			dst = appendJSRune(dst, rune(c&0x0F)<<12|rune(s[i+1]&0x3F)<<6|rune(s[i+2]&0x3F))
		default:
			size = invalidSubpart([]byte(s[i:min(i+4, len(s))]))
			dst = append(dst, "\uFFFD"...)
		}
		i += size
	}
	return append(dst, '"')
}

// invalidSubpart returns the length of the maximal ill-formed subpart at the start of b (which does
// not start a valid sequence): what the WHATWG UTF-8 decoder, and so Node, turns into one U+FFFD.
func invalidSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}
