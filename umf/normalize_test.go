package umf

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":%d`, i%30, i) // 10 duplicates past the map threshold
	}
	wantMany := make([]string, 30)
	for i := range wantMany {
		v := i
		if i < 10 {
			v = i + 30
		}
		wantMany[i] = fmt.Sprintf(`"k%d":%d`, i, v)
	}
	for _, c := range []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{`{"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]}`, `{"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]}`},
		{`{"x":{"2":1,"1":2},"1":{"b":1,"0":2}}`, `{"1":{"0":2,"b":1},"x":{"1":2,"2":1}}`},
		{`{"a":1,"a":{"b":1,"b":2}}`, `{"a":{"b":2}}`},
		{"{" + strings.Join(many, ",") + "}", "{" + strings.Join(wantMany, ",") + "}"},
		{`123456789012345`, `123456789012345`},
		{`1234567890123456789`, `1234567890123456800`},
		{`-0`, `0`},
		{`[1.0,1e0,10e-1,0.5e1]`, `[1,1,1,5]`},
		{`"\u00E9\u00e9\/"`, `"éé/"`},
		{`"\uDBFF\uDFFF"`, `"` + "\U0010FFFF" + `"`},
		{`"\uD800\uD800\uDC00"`, `"\ud800` + "\U00010000" + `"`},
		{`"\u001F\u007F"`, `"\u001f` + "\x7f" + `"`},
	} {
		have, err := Normalize([]byte(c.in))
		if err != nil || string(have) != c.want {
			t.Errorf("Normalize(%s):\nwant %s\nhave %s (%v)", c.in, c.want, have, err)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for _, in := range []string{
		``, ` `, `{`, `}`, `[`, `[1`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a" 1}`, `[1 2]`,
		`01`, `-`, `+1`, `1.`, `.1`, `1e`, `1e+`, `0x10`, `NaN`, `Infinity`, `-Infinity`, `tru`, `nul`, `falsey`,
		`"abc`, `"\`, `"\a"`, `"\u12"`, `"\u12G4"`, "\"\x01\"", "\"\n\"", `'a'`, `1 2`, `{}{}`, deep,
	} {
		if have, err := Normalize([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Normalize(%.40q) = %.40q, %v; want ErrMalformed", in, have, err)
		}
	}
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, err := Normalize([]byte(ok)); err != nil {
		t.Errorf("nesting of exactly %d: %v", maxDepth, err)
	}
}

// TestCanonicalDecimal checks the fast path against the full conversion on many decimal literals.
func TestCanonicalDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for range 200000 {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		if rng.IntN(3) == 0 {
			b.WriteString("0." + strings.Repeat("0", rng.IntN(8)))
		} else {
			b.WriteString(strconv.Itoa(1 + rng.IntN(1e9)))
			b.WriteByte('.')
		}
		for range 1 + rng.IntN(12) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		lit := b.String()
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			t.Fatal(err)
		}
		if canonicalDecimal([]byte(lit)) {
			fast++
			if want := string(appendJSNumber(nil, f)); want != lit {
				t.Fatalf("%s takes the fast path but JavaScript writes %s", lit, want)
			}
		}
	}
	if fast < 50000 {
		t.Fatalf("only %d literals took the fast path", fast)
	}
}
