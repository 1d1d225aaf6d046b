package router

import (
	"regexp"
	"testing"
)

// routeParserCases were answered by route-parser (the version hydra 1.9.3 installs, run under node):
// new Route(pattern).match(path) is truthy.
var routeParserCases = []struct {
	pattern, path string
	match         bool
}{
	{"/v1/hx/hello", "/v1/hx/hello", true}, {"/v1/hx/hello", "/v1/hx/hello/", false}, {"/v1/hx/hello", "/v1/hx/Hello", false},
	{"/v1/hx/items/:id", "/v1/hx/items/42", true}, {"/v1/hx/items/:id", "/v1/hx/items/", false},
	{"/v1/hx/items/:id", "/v1/hx/items/4/2", false}, {"/v1/hx/items/:id", "/v1/hx/items/a%2Fb", true},
	{"/files/*path", "/files/a/b/c", true}, {"/files/*path", "/files/", true}, {"/files/*path", "/files", false},
	{"/a(/b)", "/a", true}, {"/a(/b)", "/a/b", true}, {"/a(/b)", "/a/c", false},
	{"/a(/:x)/c", "/a/c", true}, {"/a(/:x)/c", "/a/zz/c", true},
	{"/:a-:b", "/x-y", true}, {"/:a-:b", "/x", false}, {"/file.:ext", "/file.txt", true}, {"/file.:ext", "/fileXtxt", false},
	{"/a/*", "/a", true}, {"/a/*", "/a//", true}, {"/a/*", "/a/x", false},
	{"/*x.json", "/a/b.json", true}, {"/*x.json", "/a/b.jsonx", false},
	{"/svc/", "/svc/", true}, {"/svc/", "/svc", false}, {"/x", "/x/", false}, {"", "/", false}, {"/", "/", true},
	{"/:p", "/", false}, {"/v1/:a/*b", "/v1/q/", true}, {"/v1/:a/*b", "/v1/q", false},
	{"/a/:b(/:c)", "/a/1/2", true}, {"/a/:b(/:c)", "/a/1", true},
	{"/a+b", "/a+b", true}, {"/a.b", "/aXb", false}, {"/~u/%20", "/~u/%20", true}, {"/a/::b", "/a/x", true},
	{"/a(/b(/c))", "/a/b/c", true}, {"/a(/b(/c))", "/a/c", false}, {"*x", "/a", true},
}

func TestPatternMatchesRouteParser(t *testing.T) {
	for _, tc := range routeParserCases {
		p, err := compilePattern("[get]" + tc.pattern)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		if want, have := tc.match, p.matchPath(tc.path); want != have {
			t.Errorf("%q on %q: want %v, have %v", tc.pattern, tc.path, want, have)
		}
	}
}

// TestPatternForms checks which matcher each kind of pattern gets: equality for literals, segments
// for the common shapes, a regexp (linear time) for the rest.
func TestPatternForms(t *testing.T) {
	for _, tc := range []struct {
		pattern, form string
	}{
		{"/v1/hx/hello", "literal"}, {"/v1/items/:id", "segments"}, {"/files/*path", "segments"},
		{"/a(/b)", "regexp"}, {"/file.:ext", "regexp"}, {"/a/*", "regexp"}, {"*x", "regexp"},
	} {
		p, err := compilePattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		form := "regexp"
		switch {
		case p.isLit:
			form = "literal"
		case p.segs != nil:
			form = "segments"
		}
		if form != tc.form {
			t.Errorf("%q: want %s, have %s", tc.pattern, tc.form, form)
		}
	}
}

func TestPatternRejects(t *testing.T) {
	// route-parser throws on these too.
	for _, bad := range []string{"/a(b", "/a)b", "/a**", string(make([]byte, maxPatternLen+1))} {
		if _, err := compilePattern(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}

func TestPatternMethod(t *testing.T) {
	for _, tc := range []struct {
		raw, method string
		text        string
		takes       []string
		refuses     []string
	}{
		{"[get]/x", "GET", "/x", []string{"GET", "HEAD"}, []string{"POST", "DELETE"}},
		{"[post]/x", "POST", "/x", []string{"POST"}, []string{"GET", "HEAD", "PUT"}},
		{"[PATCH]/x", "PATCH", "/x", []string{"PATCH"}, []string{"GET"}},
		{"/x", "", "/x", []string{"GET", "POST", "DELETE"}, nil},
		{"[all]/x", "", "/x", []string{"GET", "PUT"}, nil},
		{"odd]/x", "", "/x", []string{"GET"}, nil}, // hydra-router strips up to the first "]"
	} {
		p, err := compilePattern(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if p.method != tc.method || p.text != tc.text {
			t.Errorf("%q: want %q %q, have %q %q", tc.raw, tc.method, tc.text, p.method, p.text)
		}
		for _, m := range tc.takes {
			if !p.matchMethod(m) {
				t.Errorf("%q refuses %s", tc.raw, m)
			}
		}
		for _, m := range tc.refuses {
			if p.matchMethod(m) {
				t.Errorf("%q takes %s", tc.raw, m)
			}
		}
	}
}

func FuzzPattern(f *testing.F) {
	for _, tc := range routeParserCases {
		f.Add(tc.pattern, tc.path)
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := compilePattern(pattern)
		if err != nil {
			return
		}
		// Whatever matcher was chosen, it agrees with route-parser's regular expression.
		re, err := regexp.Compile(regexpOf(lex(p.text)))
		if err != nil {
			t.Fatalf("%q compiled but its regexp does not: %v", pattern, err)
		}
		if want, have := re.MatchString(path), p.matchPath(path); want != have {
			t.Fatalf("%q on %q: regexp %v, matcher %v", pattern, path, want, have)
		}
	})
}
