package integration

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

// nodeLines feeds JSON lines to `node vectors.js --stdin` and returns its answers, one per line.
func nodeLines(t *testing.T, lines []any) [][]byte {
	t.Helper()
	dir := requireNode(t)
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("node", "vectors.js", "--stdin")
	cmd.Dir = dir
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node vectors.js --stdin: %v", err)
	}
	var answers [][]byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		answers = append(answers, bytes.Clone(sc.Bytes()))
	}
	if want, have := len(lines), len(answers); want != have {
		t.Fatalf("sent %d lines to node, got %d answers", want, have)
	}
	return answers
}

// Random addresses through Node's parseRoute and umf.ParseAddress agree, except where umf
// deliberately differs (documented on ParseAddress).
func TestUMFAddressesAgainstNode(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(11, seed))
	pieces := []string{"svc", "hydra-router", "client", "abc123", "a", "@", "-", "--", ":", "[", "]", "get", "GET", "Post",
		"/", "/v1/x", "/:id", "http", "x", "."}
	lines := make([]any, 4000)
	routes := make([]string, len(lines))
	for i := range lines {
		var b strings.Builder
		for range 1 + rng.IntN(7) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		routes[i] = b.String()
		lines[i] = map[string]string{"route": routes[i]}
	}
	agreed := 0
	for i, line := range nodeLines(t, lines) {
		var node struct {
			Route struct{ Instance, SubID, ServiceName, HTTPMethod, APIRoute, Error string }
		}
		if err := json.Unmarshal(line, &node); err != nil {
			t.Fatal(err)
		}
		n, s := node.Route, routes[i]
		head, _, _ := strings.Cut(s, ":")
		a, err := umf.ParseAddress(s)
		switch {
		case strings.HasPrefix(strings.TrimPrefix(head, head[:strings.IndexByte(head, '@')+1]), "http"):
			// Node reads service names starting with "http" as URLs.
		case n.Error != "":
			if err == nil {
				t.Errorf("%q: Node says %q, umf accepted %+v (seed %d)", s, n.Error, a, seed)
			}
		case err != nil:
			inst, _, hasAt := strings.Cut(head, "@")
			inst, _, _ = strings.Cut(inst, "-")
			rest := strings.TrimPrefix(s, head+":")
			if !(hasAt && inst == "") && n.ServiceName != "" && !strings.HasPrefix(rest, "[]") {
				t.Errorf("%q: Node parses it as %+v, umf says %v (seed %d)", s, n, err, seed)
			}
		case strings.Count(strings.SplitN(head, "@", 2)[0], "-") > 1 && strings.Contains(head, "@"):
			// Node keeps only the first -part of the sub ID; umf keeps all of it.
		default:
			want := umf.Address{Instance: n.Instance, SubID: n.SubID, Service: n.ServiceName, Method: n.HTTPMethod, Route: n.APIRoute}
			if a != want {
				t.Errorf("%q: Node %+v, umf %+v (seed %d)", s, want, a, seed)
			}
			agreed++
		}
	}
	if agreed < 500 {
		t.Errorf("only %d addresses compared field by field", agreed)
	}
}

// Random request/response pairs through Node's _sendReplyMessage steps and umf.Reply agree.
func TestUMFRepliesAgainstNode(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(13, seed))
	const n = 1500
	origs, resps := make([][]byte, n), make([][]byte, n)
	lines := make([]any, n)
	for i := range lines {
		g := &jsonGen{rng: rng}
		g.message()
		origs[i] = bytes.Clone(g.buf.Bytes())
		g.buf.Reset()
		g.message()
		resps[i] = g.buf.Bytes()
		lines[i] = map[string]string{"orig": hex.EncodeToString(origs[i]), "resp": hex.EncodeToString(resps[i])}
	}
	failures := 0
	for i, line := range nodeLines(t, lines) {
		var node struct{ Reply string }
		if err := json.Unmarshal(line, &node); err != nil {
			t.Fatal(err)
		}
		orig, err1 := umf.Unmarshal(origs[i])
		resp, err2 := umf.Unmarshal(resps[i])
		if err1 != nil || err2 != nil {
			t.Fatalf("generated messages do not parse: %v %v", err1, err2)
		}
		want := unhex(t, node.Reply)
		if resp.Signature == "" && orig.Signature != "" {
			// The deliberate difference: Node carries orig's stale sig, which is never the last field.
			sig, err := (&umf.Message{Signature: orig.Signature}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want = bytes.Replace(want, append(sig[1:len(sig)-1], ','), nil, 1)
		}
		have, err := umf.Reply(orig, resp).Marshal()
		if err != nil || !bytes.Equal(want, have) {
			if failures++; failures <= 5 {
				t.Errorf("reply to %s with %s:\nnode %s\numf  %s (%v)", origs[i], resps[i], want, have, err)
			}
		}
	}
	if failures > 0 {
		t.Fatalf("%d of %d replies differ (seed %d)", failures, n, seed)
	}
}
