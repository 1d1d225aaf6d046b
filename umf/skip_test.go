package umf

import (
	"strings"
	"testing"
)

// skip must accept exactly what the normalizer accepts: Unmarshal validates bdy with skip, Marshal
// writes it with the normalizer, and a body one accepts and the other rejects would be a message
// that reads but does not write.
func TestSkipAgreesWithNormalize(t *testing.T) {
	for _, s := range []string{
		`1`, `-0`, `1e400`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `true`, `tru`, `nul`, `false `, `"a"`,
		`"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\ud800\u12"`, `"\x"`, `"\`, `"a`, "\"\x01\"", "\"\x7f\xff\"",
		`{}`, `{"a":1,"a":2}`, `{"a":1,}`, `{"a" 1}`, `{1:1}`, `{"a":1`, `[]`, `[1,2]`, `[1,]`, `[1`, `[,1]`,
		`{"a":[{"b":null}]}`, ` [ 1 , { "x" : "y" } ] `, `[1]x`, ``, ` `, `@`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	} {
		_, normErr := Normalize([]byte(s))
		if skipErr := skipAll([]byte(s)); (normErr == nil) != (skipErr == nil) {
			t.Errorf("%.40q: Normalize error %v, skip error %v", s, normErr, skipErr)
		}
	}
}

// skipAll is skip over a whole document, as Normalize reads one.
func skipAll(data []byte) error {
	n := getNormalizer(data)
	defer putNormalizer(n)
	if err := n.skip(); err != nil {
		return err
	}
	if n.skipWS(); n.pos != len(data) {
		return n.fail("data after the JSON value")
	}
	return nil
}
