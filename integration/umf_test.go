package integration

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

// The committed vectors are exactly what the installed hydra@1.9.3 produces today.
func TestUMFVectorsUpToDate(t *testing.T) {
	dir := requireNode(t)
	cmd := exec.Command("node", "vectors.js")
	cmd.Dir = dir
	live, err := cmd.Output()
	if err != nil {
		t.Fatalf("node vectors.js: %v", err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "umf", "testdata", "node-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	if err := json.Unmarshal(live, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(committed, &b); err != nil {
		t.Fatal(err)
	}
	delete(a, "node") // the Node version may differ; its output must not
	delete(b, "node")
	if !reflect.DeepEqual(a, b) {
		t.Fatal("umf/testdata/node-vectors.json is stale: run `node vectors.js > ../../umf/testdata/node-vectors.json` in integration/node")
	}
}

// Random JSON texts and messages, generated here, go through the real Node (JSON.parse →
// JSON.stringify, createMessage → toShort, signMessage) and through umf; the bytes must agree.
func TestUMFDifferentialAgainstNode(t *testing.T) {
	dir := requireNode(t)
	const n = 3000
	// A new seed each run widens coverage over time; UMF_DIFF_SEED replays a failure.
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("UMF_DIFF_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(7, seed))
	texts := make([][]byte, n)
	var in bytes.Buffer
	for i := range texts {
		g := &jsonGen{rng: rng}
		if i%2 == 0 {
			g.message()
		} else {
			g.value(0)
		}
		texts[i] = g.buf.Bytes()
		fmt.Fprintf(&in, `{"hex":%q,"secret":"k%d"}`+"\n", hex.EncodeToString(texts[i]), i)
	}
	cmd := exec.Command("node", "vectors.js", "--stdin")
	cmd.Dir = dir
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node vectors.js --stdin: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	failures := 0
	for i := 0; sc.Scan(); i++ {
		var node struct{ Norm, Wire, Sig, Error string }
		if err := json.Unmarshal(sc.Bytes(), &node); err != nil {
			t.Fatal(err)
		}
		text := texts[i]
		if node.Error != "" {
			t.Fatalf("Node rejected generated text %q: %s", text, node.Error)
		}
		fail := func(what string, want, have any) {
			failures++
			if failures <= 10 {
				t.Errorf("%s of %q:\nnode %s\numf  %s", what, text, want, have)
			}
		}
		norm, err := umf.Normalize(text)
		if want := unhex(t, node.Norm); err != nil || !bytes.Equal(want, norm) {
			fail("Normalize", want, fmt.Sprintf("%s (%v)", norm, err))
		}
		if i%2 == 1 { // not a message: Node would make up mid and ts, and "to" may be a number
			continue
		}
		m, err := umf.Unmarshal(text)
		if err != nil {
			fail("Unmarshal", "accepted", err.Error())
			continue
		}
		if m.Version == "" {
			m.Version = umf.Version // createMessage fills ver; mid and ts are always generated
		}
		wire, err := m.Marshal()
		if want := unhex(t, node.Wire); err != nil || !bytes.Equal(want, wire) {
			fail("Marshal", want, fmt.Sprintf("%s (%v)", wire, err))
		}
		if err := umf.Sign(m, []byte("k"+strconv.Itoa(i))); err != nil || m.Signature != node.Sig {
			fail("Sign", node.Sig, fmt.Sprintf("%s (%v)", m.Signature, err))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if failures > 0 {
		t.Fatalf("%d of %d differ (UMF_DIFF_SEED=%d)", failures, n, seed)
	}
}

func unhex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonGen writes random JSON texts full of the cases where JavaScript and Go disagree by default.
type jsonGen struct {
	rng *rand.Rand
	buf bytes.Buffer
}

func (g *jsonGen) pick(options ...string) string { return options[g.rng.IntN(len(options))] }

func (g *jsonGen) ws() {
	if g.rng.IntN(4) == 0 {
		g.buf.WriteString(g.pick(" ", "\n", "\t ", "\r\n  "))
	}
}

var (
	genKeys = []string{"a", "b", "z", "0", "1", "2", "10", "007", "-1", "1.5", "4294967294", "4294967295", "__proto__",
		"", "\\u0061", "é", "\\ud800", "to", "bdy"}
	genStrings = []string{"x", "hello", "<script>&amp;</script>", "\u2028", "\u2029", "\\u2028", "é", "\\u00e9", "日本",
		"😀", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\ud800", "\\udc00", "\\ud800\\ud800", "\\n", "\\t", "\\\"", "\\\\", "\\/",
		"\\u0000", "\\u001f", "\\u007f", "\\b\\f\\r", "\x7f", "\xff", "\xe2\x82", "\xed\xa0\x80", " ", ""}
	genNumbers = []string{"0", "-0", "0.0", "1", "-1", "0.1", "1.5", "100", "1e2", "1E+2", "1e21", "1e20", "1e-6", "1e-7",
		"123e-20", "5e-324", "2e-324", "1.7976931348623157e308", "1e309", "-1e309", "9007199254740993", "12345678901234567890",
		"0.30000000000000004", "3.141592653589793238", "1.0000000000000002", "4.35", "0.000001", "-0.0000012"}
)

func (g *jsonGen) str() {
	g.buf.WriteByte('"')
	for range g.rng.IntN(4) {
		g.buf.WriteString(g.pick(genStrings...))
	}
	g.buf.WriteByte('"')
}

func (g *jsonGen) number() {
	switch g.rng.IntN(4) {
	case 0:
		g.buf.WriteString(strconv.FormatFloat(g.rng.NormFloat64()*float64(g.rng.Int64N(1e12)), g.pick("e", "f", "g")[0], -1, 64))
	case 1:
		g.buf.WriteString(strconv.FormatInt(g.rng.Int64()>>g.rng.IntN(64), 10))
	default:
		g.buf.WriteString(g.pick(genNumbers...))
	}
}

func (g *jsonGen) finiteNumber() {
	mark := g.buf.Len()
	for {
		g.number()
		if lit := g.buf.String()[mark:]; lit != "1e309" && lit != "-1e309" {
			return
		}
		g.buf.Truncate(mark)
	}
}

func (g *jsonGen) value(depth int) {
	g.ws()
	switch k := g.rng.IntN(10); {
	case k < 2 && depth < 4:
		g.buf.WriteByte('{')
		for i := range g.rng.IntN(6) {
			if i > 0 {
				g.buf.WriteByte(',')
			}
			g.ws()
			g.buf.WriteString(`"` + g.pick(genKeys...) + `"`)
			g.ws()
			g.buf.WriteByte(':')
			g.value(depth + 1)
		}
		g.ws()
		g.buf.WriteByte('}')
	case k < 4 && depth < 4:
		g.buf.WriteByte('[')
		for i := range g.rng.IntN(5) {
			if i > 0 {
				g.buf.WriteByte(',')
			}
			g.value(depth + 1)
		}
		g.buf.WriteByte(']')
	case k < 6:
		g.str()
	case k < 8:
		g.number()
	default:
		g.buf.WriteString(g.pick("true", "false", "null"))
	}
	g.ws()
}

// message writes a UMF message mixing short and long spellings, falsy values and duplicates.
func (g *jsonGen) message() {
	strFields := [][]string{{"to"}, {"from", "frm"}, {"rmid"}, {"signature", "sig"}, {"type", "typ"},
		{"version", "ver"}, {"via"}, {"forward", "fwd"}, {"authorization", "aut"}}
	g.buf.WriteString(`{"mid":"m`) // never empty: Node would make up a random one
	for range g.rng.IntN(3) {
		g.buf.WriteString(g.pick(genStrings...))
	}
	g.buf.WriteString(`"`)
	g.buf.WriteString(`,"` + g.pick("ts", "timestamp") + `":"2026-11-25T18:00:00.000Z"`)
	for range g.rng.IntN(10) {
		g.buf.WriteByte(',')
		g.ws()
		switch g.rng.IntN(4) {
		case 0:
			g.buf.WriteString(`"` + g.pick("tmo", "timeout") + `":`)
			g.finiteNumber() // umf rejects a tmo of 1e309, where Node would write null
		case 1:
			g.buf.WriteString(`"` + g.pick("hdr", "headers") + `":`)
			if g.rng.IntN(5) == 0 {
				g.buf.WriteString("null")
			} else {
				g.buf.WriteString(`{"` + g.pick(genKeys...) + `":`)
				g.value(2)
				g.buf.WriteString(`,"` + g.pick(genKeys...) + `":"v"}`)
			}
		case 2:
			g.buf.WriteString(`"` + g.pick("bdy", "body") + `":`)
			g.value(0)
		default:
			names := strFields[g.rng.IntN(len(strFields))]
			g.buf.WriteString(`"` + names[g.rng.IntN(len(names))] + `":`)
			if g.rng.IntN(6) == 0 {
				g.buf.WriteString("null")
			} else {
				g.str()
			}
		}
	}
	g.ws()
	g.buf.WriteByte('}')
}
