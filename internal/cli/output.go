package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// emit prints v as indented JSON with --json, else calls table.
func (a *app) emit(v any, table func(t *tabwriter.Writer)) error {
	if a.json {
		return writeJSON(a.out, v)
	}
	t := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	table(t)
	return t.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// row writes one tab-separated table row; empty cells print as "-".
func row(w io.Writer, cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		s := fmt.Sprint(c)
		if s == "" {
			s = "-"
		}
		parts[i] = s
	}
	fmt.Fprintln(w, strings.Join(parts, "\t"))
}
