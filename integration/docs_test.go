package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every claim in docs/compatibility.md links to a test; this fails when a linked test is gone.
func TestCompatibilityMatrixLinksExist(t *testing.T) {
	doc, err := os.ReadFile("../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\[(Test\w+)\]\(\.\./([\w/.-]+_test\.go)\)`).FindAllStringSubmatch(string(doc), -1)
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
