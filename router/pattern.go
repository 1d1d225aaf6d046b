package router

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxPatternLen bounds a route pattern read from Redis; longer ones are skipped.
const maxPatternLen = 1024

var errPattern = errors.New("router: invalid route pattern")

// Segment kinds, in increasing specificity.
const (
	kindSplat   byte = 1
	kindParam   byte = 2
	kindLiteral byte = 3
)

// pattern is one compiled route: Node's route-parser grammar (`:param`, `*splat`, `(optional)`,
// everything else literal) with hydra's optional `[method]` prefix.
type pattern struct {
	raw    string // as registered, prefix included
	text   string // without the [method] prefix, as list/routes shows it
	method string // upper case; "" matches every method
	// Exactly one of the matchers: literal (the whole pattern, matched by equality), segs (one
	// literal, :param or final *splat per /-separated segment) or re (anything else: optional
	// groups, params inside a segment, route-parser's quirks).
	literal string
	isLit   bool
	segs    []segment
	re      *regexp.Regexp
	kinds   []byte // specificity, one kind per /-separated segment of text
}

type segment struct {
	kind byte
	lit  string
}

// token kinds of route-parser's lexer.
const (
	tokOpen = iota
	tokClose
	tokSplat
	tokParam
	tokLiteral
)

type token struct {
	kind int
	text string
}

func isWord(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// lex splits s as route-parser's jison lexer does: its rules are tried in order, the first that
// matches wins: "(", ")", \*+\w+ (splat), :+\w+ (param), [\w%\-~\n]+ (literal), any one char (literal).
func lex(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '(':
			toks = append(toks, token{tokOpen, "("})
			i++
			continue
		case c == ')':
			toks = append(toks, token{tokClose, ")"})
			i++
			continue
		case c == '*' || c == ':':
			j := i
			for j < len(s) && s[j] == c {
				j++
			}
			k := j
			for k < len(s) && isWord(s[k]) {
				k++
			}
			if k > j {
				kind := tokSplat
				if c == ':' {
					kind = tokParam
				}
				toks = append(toks, token{kind, s[i:k]})
				i = k
				continue
			}
		}
		j := i
		for j < len(s) && (isWord(s[j]) || s[j] == '%' || s[j] == '-' || s[j] == '~' || s[j] == '\n') {
			j++
		}
		if j == i {
			j = i + 1
		}
		toks = append(toks, token{tokLiteral, s[i:j]})
		i = j
	}
	return toks
}

// splitMethod separates hydra's [method] prefix as hydra-router does: everything up to the first
// "]" goes. The method is the bracketed word when the pattern starts with "["; all, _all and * are
// any method.
func splitMethod(raw string) (method, text string) {
	i := strings.IndexByte(raw, ']')
	if i < 0 {
		return "", raw
	}
	if raw[0] == '[' {
		method = strings.ToUpper(strings.TrimSpace(raw[1:i]))
	}
	switch method {
	case "ALL", "_ALL", "*":
		method = ""
	}
	return method, raw[i+1:]
}

// compilePattern compiles a registered route.
func compilePattern(raw string) (*pattern, error) {
	if len(raw) > maxPatternLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", errPattern, maxPatternLen)
	}
	if !utf8.ValidString(raw) {
		return nil, fmt.Errorf("%w: not UTF-8", errPattern)
	}
	p := &pattern{raw: raw}
	p.method, p.text = splitMethod(raw)
	toks := lex(p.text)
	p.kinds = kinds(p.text)
	simple, literal := true, true
	depth := 0
	for _, t := range toks {
		switch t.kind {
		case tokOpen:
			depth++
			simple, literal = false, false
		case tokClose:
			if depth--; depth < 0 {
				return nil, fmt.Errorf("%w: %q: unbalanced )", errPattern, p.text)
			}
		case tokSplat, tokParam:
			literal = false
		case tokLiteral:
			if t.text == "*" {
				simple, literal = false, false
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: %q: unbalanced (", errPattern, p.text)
	}
	if literal {
		p.literal, p.isLit = p.text, true
		return p, nil
	}
	if simple {
		if segs, ok := segments(p.text); ok {
			p.segs = segs
			return p, nil
		}
	}
	re, err := regexp.Compile(regexpOf(toks))
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", errPattern, p.text, err)
	}
	p.re = re
	return p, nil
}

// segments returns the per-segment form of a pattern without groups, when each segment is wholly a
// literal, a :param, or (last) a *splat.
func segments(text string) ([]segment, bool) {
	parts := strings.Split(text, "/")
	segs := make([]segment, len(parts))
	for i, part := range parts {
		toks := lex(part)
		switch {
		case len(toks) == 1 && toks[0].kind == tokParam:
			segs[i] = segment{kind: kindParam}
		case len(toks) == 1 && toks[0].kind == tokSplat && i == len(parts)-1 && i > 0:
			segs[i] = segment{kind: kindSplat}
		default:
			for _, t := range toks {
				if t.kind != tokLiteral {
					return nil, false
				}
			}
			segs[i] = segment{kind: kindLiteral, lit: part}
		}
	}
	return segs, true
}

// regexpOf is route-parser's regular expression for the tokens: a param is ([^/?]+), a splat the
// lazy ([^?]*?), a group (?:…)?, literals escaped except "*", which route-parser leaves as a
// quantifier of the character before it. Paths are matched without their query, so route-parser's
// trailing (?=\?|$) is $.
func regexpOf(toks []token) string {
	var b strings.Builder
	b.WriteString("^")
	for _, t := range toks {
		switch t.kind {
		case tokOpen:
			b.WriteString("(?:")
		case tokClose:
			b.WriteString(")?")
		case tokSplat:
			b.WriteString("([^?]*?)")
		case tokParam:
			b.WriteString("([^/?]+)")
		default:
			if t.text == "*" {
				b.WriteString("*")
			} else {
				b.WriteString(regexp.QuoteMeta(t.text))
			}
		}
	}
	b.WriteString("$")
	return b.String()
}

// kinds ranks the /-separated segments of text: a segment holding a splat (or a bare "*") is a
// splat, one holding a param or a group is a param, others are literal.
func kinds(text string) []byte {
	parts := strings.Split(text, "/")
	out := make([]byte, len(parts))
	for i, part := range parts {
		out[i] = kindLiteral
		for _, t := range lex(part) {
			switch {
			case t.kind == tokSplat || t.kind == tokLiteral && t.text == "*":
				out[i] = kindSplat
			case (t.kind == tokParam || t.kind == tokOpen || t.kind == tokClose) && out[i] > kindParam:
				out[i] = kindParam
			}
		}
	}
	return out
}

// matchPath reports whether path (the request's escaped path, no query) matches.
func (p *pattern) matchPath(path string) bool {
	switch {
	case p.isLit:
		return path == p.literal
	case p.segs != nil:
		return matchSegments(p.segs, path)
	default:
		return p.re.MatchString(path)
	}
}

// matchMethod reports whether the route takes method; a [get] route also takes HEAD, as the
// services behind it (Express, net/http) answer HEAD on GET routes.
func (p *pattern) matchMethod(method string) bool {
	return p.method == "" || p.method == method || p.method == "GET" && method == "HEAD"
}

func matchSegments(segs []segment, path string) bool {
	rest := path
	for i, s := range segs {
		if s.kind == kindSplat {
			return true // the "/" before it was consumed: anything follows, even nothing
		}
		last := i == len(segs)-1
		j := strings.IndexByte(rest, '/')
		var part string
		if last {
			if j >= 0 {
				return false
			}
			part = rest
		} else {
			if j < 0 {
				return false
			}
			part, rest = rest[:j], rest[j+1:]
		}
		switch s.kind {
		case kindLiteral:
			if part != s.lit {
				return false
			}
		case kindParam:
			if part == "" {
				return false
			}
		}
	}
	return true
}

// moreSpecific reports whether a outranks b: at the first segment where their kinds differ, the
// more specific kind (literal > param > splat) wins; if one's kinds are a prefix of the other's,
// the longer wins.
func moreSpecific(a, b []byte) (more, differ bool) {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] > b[i], true
		}
	}
	if len(a) != len(b) {
		return len(a) > len(b), true
	}
	return false, false
}
