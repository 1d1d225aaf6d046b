package hydrakit_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// component is one row of the lifecycle table in docs/architecture.md.
type component struct {
	name, pkg, constructor, start, stop string
}

// lifecycleTable reads the table under "## Lifecycle" in docs/architecture.md.
func lifecycleTable(t *testing.T) []component {
	t.Helper()
	f, err := os.Open("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []component
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Lifecycle"
		case in && strings.HasPrefix(line, "| `"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			if len(cells) < 6 {
				t.Fatalf("lifecycle row with %d cells: %s", len(cells), line)
			}
			for i, cell := range cells {
				cells[i] = firstCode(cell)
			}
			rows = append(rows, component{cells[0], cells[1], cells[2], cells[3], cells[4]})
		}
	}
	if len(rows) == 0 {
		t.Fatal("no lifecycle table in docs/architecture.md")
	}
	return rows
}

// firstCode returns the first `code` span of a cell, or the cell.
func firstCode(cell string) string {
	if _, rest, ok := strings.Cut(cell, "`"); ok {
		if code, _, ok := strings.Cut(rest, "`"); ok {
			return code
		}
	}
	return strings.TrimSpace(cell)
}

// api is what a package declares: functions, and methods by receiver type.
type api struct {
	funcs   map[string]*ast.FuncType
	methods map[string]map[string]*ast.FuncType // type -> method -> signature
	types   []string
}

func parsePackage(t *testing.T, dir string) api {
	t.Helper()
	a := api{funcs: map[string]*ast.FuncType{}, methods: map[string]map[string]*ast.FuncType{}}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					a.funcs[d.Name.Name] = d.Type
					continue
				}
				recv := d.Recv.List[0].Type
				if s, ok := recv.(*ast.StarExpr); ok {
					recv = s.X
				}
				id, ok := recv.(*ast.Ident)
				if !ok {
					continue
				}
				if a.methods[id.Name] == nil {
					a.methods[id.Name] = map[string]*ast.FuncType{}
				}
				a.methods[id.Name][d.Name.Name] = d.Type
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok && ts.Name.IsExported() {
						a.types = append(a.types, ts.Name.Name)
					}
				}
			}
		}
	}
	return a
}

// returnsOnlyError reports whether a signature is func(...) error.
func returnsOnlyError(f *ast.FuncType) bool {
	if f.Results == nil || len(f.Results.List) != 1 {
		return false
	}
	id, ok := f.Results.List[0].Type.(*ast.Ident)
	return ok && id.Name == "error"
}

// The lifecycle table in docs/architecture.md is the code's: every constructor and stop exists, every
// hydrakit component stops with Close() error, and no public type has a lifecycle verb the table
// does not list.
func TestLifecycleTableMatchesCode(t *testing.T) {
	rows := lifecycleTable(t)
	listed := map[string]bool{}
	for _, c := range rows {
		t.Run(c.name, func(t *testing.T) {
			dir := strings.TrimPrefix(c.pkg, "hydrakit/")
			if c.pkg == "hydrakit" {
				dir = "."
			}
			a := parsePackage(t, dir)
			listed[c.pkg+"."+c.name] = true
			if recv, method, ok := strings.Cut(c.constructor, "."); ok {
				if a.methods[recv][method] == nil {
					t.Errorf("constructor %s: no such method", c.constructor)
				}
			} else if a.funcs[c.constructor] == nil {
				t.Errorf("constructor %s: no such func", c.constructor)
			}
			stop := strings.TrimSuffix(c.stop, "()")
			sig := a.methods[c.name][stop]
			if sig == nil {
				t.Fatalf("stop %s: %s has no such method", c.stop, c.name)
			}
			goKit := c.name == "Registrar" || c.name == "Instancer"
			if !goKit && (stop != "Close" || !returnsOnlyError(sig) || len(sig.Params.List) != 0) {
				t.Errorf("%s stops with %s; every hydrakit component stops with Close() error", c.name, c.stop)
			}
		})
	}
	// Every exported type with a lifecycle method is in the table, and nothing uses other verbs.
	dirs := []string{".", "sd/redis", "transport/redispubsub", "transport/redispubsub/balancer", "queue", "health", "config"}
	for _, dir := range dirs {
		pkg := "hydrakit/" + dir
		if dir == "." {
			pkg = "hydrakit"
		}
		a := parsePackage(t, dir)
		for _, typ := range a.types {
			for name := range a.methods[typ] {
				switch {
				case slices.Contains([]string{"Start", "Shutdown"}, name):
					t.Errorf("%s.%s has a %s method: the lifecycle is constructor and Close", pkg, typ, name)
				case slices.Contains([]string{"Close", "Stop", "Deregister"}, name) && !listed[pkg+"."+typ]:
					t.Errorf("%s.%s has %s but is not in the lifecycle table of docs/architecture.md", pkg, typ, name)
				}
			}
		}
	}
}
