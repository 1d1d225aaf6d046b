package integration

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var matrixLink = regexp.MustCompile(`\[(Test\w+)\]\(\.\./([\w/.-]+_test\.go)\)`)

// Every claim in docs/compatibility.md links to a test; this fails when a linked test is gone.
func TestCompatibilityMatrixLinksExist(t *testing.T) {
	doc, err := os.ReadFile("../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	links := matrixLink.FindAllStringSubmatch(string(doc), -1)
	if len(links) < 20 {
		t.Fatalf("only %d test links found; the pattern or the document changed", len(links))
	}
	for _, l := range links {
		src, err := os.ReadFile(filepath.Join("..", l[2]))
		if err != nil {
			t.Errorf("%s: %v", l[2], err)
			continue
		}
		if !strings.Contains(string(src), "func "+l[1]+"(") {
			t.Errorf("%s has no func %s", l[2], l[1])
		}
	}
}

// Every row of docs/compatibility.md marked ✅ or ➡️ links at least one test under integration/ that
// runs the real npm package: its body starts node itself or through a helper that does (startNodePeer,
// startCompatService, nodeLines, ...). A ➡️ row names its direction.
func TestCompatibilityMatrixRowsRunNode(t *testing.T) {
	doc, err := os.ReadFile("../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	runsNode := nodeRunners(t)
	checked := 0
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(line, "|") {
			continue
		}
		feature, status, proof := strings.TrimSpace(cells[1]), cells[2], cells[3]
		claims := strings.Contains(status, "✅") || strings.Contains(status, "➡️")
		if !claims {
			continue
		}
		checked++
		if strings.Contains(status, "➡️") && !strings.Contains(status, "Node→Go") && !strings.Contains(status, "Go→Node") {
			t.Errorf("%q: ➡️ without a direction (Node→Go or Go→Node)", feature)
		}
		backed := false
		for _, l := range matrixLink.FindAllStringSubmatch(proof, -1) {
			if strings.HasPrefix(l[2], "integration/") && runsNode[l[1]] {
				backed = true
			}
		}
		if !backed {
			t.Errorf("%q is marked %s but links no test under integration/ that runs Node", feature, strings.TrimSpace(status))
		}
	}
	if checked < 20 {
		t.Fatalf("only %d ✅/➡️ rows found; the table format changed", checked)
	}
}

// nodeRunners returns the functions of this package that start node: those calling
// exec.Command("node", ...) and, transitively, those calling one of them.
func nodeRunners(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]*ast.BlockStmt{}
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Body != nil {
				bodies[fn.Name.Name] = fn.Body
			}
		}
	}
	runs := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for name, body := range bodies {
			if runs[name] {
				continue
			}
			ast.Inspect(body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return !runs[name]
				}
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					runs[name] = runs[name] || runs[fun.Name]
				case *ast.SelectorExpr:
					pkg, ok := fun.X.(*ast.Ident)
					if !ok || pkg.Name != "exec" || (fun.Sel.Name != "Command" && fun.Sel.Name != "CommandContext") {
						break
					}
					args := call.Args
					if fun.Sel.Name == "CommandContext" && len(args) > 0 {
						args = args[1:]
					}
					if len(args) > 0 {
						if lit, ok := args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							runs[name] = runs[name] || s == "node"
						}
					}
				}
				return !runs[name]
			})
			changed = changed || runs[name]
		}
	}
	return runs
}

// Every test docs/security.md and docs/operations.md name as proof exists where they say.
func TestSecurityClaimsLinkTests(t *testing.T) {
	for _, page := range []string{"../docs/security.md", "../docs/operations.md"} {
		doc, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		links := matrixLink.FindAllStringSubmatch(string(doc), -1)
		if page == "../docs/security.md" && len(links) < 8 {
			t.Fatalf("%s: only %d test links found; the pattern or the document changed", page, len(links))
		}
		for _, l := range links {
			src, err := os.ReadFile(filepath.Join("..", l[2]))
			if err != nil {
				t.Errorf("%s: %s: %v", page, l[2], err)
				continue
			}
			if !strings.Contains(string(src), "func "+l[1]+"(") {
				t.Errorf("%s: %s has no func %s", page, l[2], l[1])
			}
		}
	}
}
