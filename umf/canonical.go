package umf

import "unicode/utf8"

// isCanonical reports, conservatively, whether b — compact JSON as encoding/json writes it — is
// already what JSON.stringify would write, so that SetBody can skip Normalize. It says no to
// anything that Normalize could change: any escape in a string (Go writes \u2028, \u0008 and
// invalid UTF-8 differently), a number with a fraction or exponent, more than 15 digits or a
// leading -0 (JavaScript doubles), invalid UTF-8 (from a json.RawMessage), a key starting with a digit (JavaScript puts array-index keys
// first), a repeated key (possible through a custom MarshalJSON or json.RawMessage), and objects
// too wide or too deep to check cheaply.
func isCanonical(b []byte) bool {
	const maxKeys, maxObjDepth = 32, 16
	var keys [maxKeys]struct{ lo, hi int32 } // keys of the objects being read, innermost last
	var firstKey [maxObjDepth]int
	var inObject [maxObjDepth + 1]bool // by nesting depth: an object (else an array or the top level)
	nkeys, depth := 0, 0
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			j, ascii := i+1, true
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' || b[j] < 0x20 {
					return false
				}
				ascii = ascii && b[j] < utf8.RuneSelf
				j++
			}
			if j >= len(b) || !ascii && !utf8.Valid(b[i+1:j]) {
				return false
			}
			if j+1 < len(b) && b[j+1] == ':' { // a key
				key := b[i+1 : j]
				if len(key) > 0 && key[0] >= '0' && key[0] <= '9' || nkeys == maxKeys || depth == 0 {
					return false
				}
				for _, k := range keys[firstKey[depth-1]:nkeys] {
					if string(b[k.lo:k.hi]) == string(key) {
						return false
					}
				}
				keys[nkeys].lo, keys[nkeys].hi = int32(i+1), int32(j)
				nkeys++
				j++ // the ':'
			}
			i = j + 1
		case c == '{' || c == '[':
			if depth == maxObjDepth {
				return false
			}
			depth++
			inObject[depth] = c == '{'
			if c == '{' {
				firstKey[depth-1] = nkeys
			}
			i++
		case c == '}' || c == ']':
			if depth == 0 {
				return false
			}
			if inObject[depth] {
				nkeys = firstKey[depth-1]
			}
			depth--
			i++
		case c == ',':
			i++
		case c == '-' || c >= '0' && c <= '9':
			j := i
			if c == '-' {
				j++
			}
			start := j
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			digits := j - start
			if digits == 0 || digits > 15 || b[start] == '0' && (digits > 1 || c == '-') {
				return false
			}
			if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
				return false
			}
			i = j
		case c == 't' || c == 'f' || c == 'n': // true, false, null: encoding/json writes no others
			for i < len(b) && b[i] >= 'a' && b[i] <= 'z' {
				i++
			}
		default:
			return false
		}
	}
	return depth == 0 && len(b) > 0
}

// isFlatPlainObject reports whether b is a JSON object whose members are all strings, with keys
// and values of printable ASCII other than '"' and '\' only, no key repeated and none starting with
// a digit: valid, and already what JSON.stringify writes, with no need to read it as JSON. A hdr
// that carries trace context is this, so Marshal copies it rather than normalizing it.
func isFlatPlainObject(b []byte) bool {
	const maxMembers = 8
	var keys [maxMembers][]byte
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	if len(b) == 2 {
		return true
	}
	i, n := 1, 0
	for {
		key, next, ok := plainString(b, i)
		if !ok || n == maxMembers || len(key) > 0 && key[0] >= '0' && key[0] <= '9' || next >= len(b) || b[next] != ':' {
			return false
		}
		for _, k := range keys[:n] {
			if string(k) == string(key) {
				return false
			}
		}
		keys[n] = key
		n++
		if _, next, ok = plainString(b, next+1); !ok || next >= len(b) {
			return false
		}
		switch {
		case b[next] == '}' && next == len(b)-1:
			return true
		case b[next] == ',':
			i = next + 1
		default:
			return false
		}
	}
}

// plainString reads the string that starts at b[i] (its opening quote) and whose characters are
// all printable ASCII other than '"' and '\': its contents, and the index after its closing quote.
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, j, false
		}
	}
	return nil, len(b), false
}
