package router

import (
	"fmt"
	"testing"
)

func first(t *table, method, path string) string {
	var found string
	t.match(method, path, func(rt *route) bool {
		found = rt.service + " " + rt.raw
		return false
	})
	return found
}

func TestTableMostSpecificWins(t *testing.T) {
	tab, errs := buildTable(map[string][]string{
		"new":    {"[get]/v1/items/new"},
		"item":   {"[get]/v1/items/:id", "[post]/v1/items/:id"},
		"sub":    {"[get]/v1/items/:id/parts"},
		"splat":  {"/v1/*rest"},
		"group":  {"[get]/v1/things(/:id)"},
		"root":   {"/*all"},
		"poster": {"[post]/v1/items/new"},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v1/items/new", "new [get]/v1/items/new"},      // literal beats param
		{"HEAD", "/v1/items/new", "new [get]/v1/items/new"},     // [get] takes HEAD
		{"POST", "/v1/items/new", "poster [post]/v1/items/new"}, // method-aware
		{"DELETE", "/v1/items/new", "splat /v1/*rest"},          // no [delete] route: the splat
		{"GET", "/v1/items/42", "item [get]/v1/items/:id"},      // param beats splat
		{"POST", "/v1/items/42", "item [post]/v1/items/:id"},    // same path, the method's route
		{"GET", "/v1/items/42/parts", "sub [get]/v1/items/:id/parts"},
		{"GET", "/v1/things", "group [get]/v1/things(/:id)"},
		{"GET", "/v1/things/7", "group [get]/v1/things(/:id)"},
		{"GET", "/elsewhere", "root /*all"},
		{"GET", "/v1", "root /*all"}, // /v1/*rest needs the slash
	} {
		if have := first(tab, tc.method, tc.path); have != tc.want {
			t.Errorf("%s %s: want %q, have %q", tc.method, tc.path, tc.want, have)
		}
	}
}

func TestTableAllMatchesInOrder(t *testing.T) {
	tab, _ := buildTable(map[string][]string{
		"a": {"/x/:p"}, "b": {"/x/y"}, "c": {"/*s"}, "d": {"[get]/x/y"},
	})
	var have []string
	tab.match("GET", "/x/y", func(rt *route) bool {
		have = append(have, rt.service)
		return true
	})
	if want := "[b d a c]"; fmt.Sprint(have) != want {
		t.Errorf("want %s, have %v", want, have)
	}
}

func TestTableSkipsBadPatterns(t *testing.T) {
	tab, errs := buildTable(map[string][]string{"a": {"/ok", "/bad(", "[get]/a**"}})
	if len(errs) != 2 || len(tab.compiled["a"]) != 1 {
		t.Errorf("want 2 errors and 1 route, have %v and %d", errs, len(tab.compiled["a"]))
	}
}

// BenchmarkMatch matches against a table of 200 services of 10 routes each (literal, param and
// splat shapes): the work on every routed request.
func BenchmarkMatch(b *testing.B) {
	routes := map[string][]string{}
	for s := range 200 {
		svc := fmt.Sprintf("svc%d", s)
		for r := range 10 {
			routes[svc] = append(routes[svc], fmt.Sprintf("[get]/v1/%s/r%d", svc, r),
				fmt.Sprintf("[post]/v1/%s/r%d/:id", svc, r))
		}
		routes[svc] = append(routes[svc], "[get]/"+svc+"/:rest", "[get]/static/"+svc+"/*file")
	}
	tab, errs := buildTable(routes)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	for _, tc := range []struct{ name, method, path string }{
		{"literal", "GET", "/v1/svc150/r7"},
		{"param", "POST", "/v1/svc150/r7/42"},
		{"splat", "GET", "/static/svc199/js/app.js"},
		{"miss", "GET", "/nothing/here"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tab.match(tc.method, tc.path, func(*route) bool { return false })
			}
		})
	}
}
