package umf

import (
	"bytes"
	"slices"
)

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
