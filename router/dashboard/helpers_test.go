package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// failAfter bounds how long a test waits for something that must happen: a bound on failure, not a
// timing claim.
const failAfter = 30 * time.Second

// miniFleet is a miniredis with a hydrakit client on it.
type miniFleet struct {
	m      *miniredis.Miniredis
	client *hydrakit.Client
}

func newMiniFleet(t *testing.T) miniFleet {
	t.Helper()
	m, rdb := redistest.Mini(t)
	return miniFleet{m: m, client: redistest.Fleet(t, rdb)}
}

// addNode writes a nodes entry as Node Hydra does (port as a string), and the presence key when live.
func (f miniFleet) addNode(t *testing.T, service, id string, port int, live bool) {
	t.Helper()
	keys := f.client.Keyspace()
	entry := fmt.Sprintf(`{"serviceName":%q,"serviceDescription":"test","version":"1.2.3","instanceID":%q,`+
		`"updatedOn":"2026-01-02T03:04:05.000Z","processID":42,"ip":"10.0.0.7","port":"%d","hostName":"box-%s"}`,
		service, id, port, id[:4])
	f.m.HSet(keys.Nodes(), id, entry)
	if live {
		check(t, f.m.Set(keys.Presence(service, id), id))
	}
}

// newDashboard starts a dashboard closed when the test ends, and an httptest.Server serving it.
func newDashboard(t *testing.T, client *hydrakit.Client, options ...DashboardOption) (*Dashboard, *httptest.Server) {
	t.Helper()
	d, err := New(client, options...)
	check(t, err)
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		check(t, d.Close()) // ends the streams, so the server can close
		srv.Close()
	})
	return d, srv
}

// events is an open event stream.
type events struct {
	resp *http.Response
	r    *bufio.Reader
}

// openEvents opens the event stream; it is closed when the test ends, and fails the test if no event
// comes within failAfter.
func openEvents(t *testing.T, url string) *events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	check(t, err)
	resp, err := http.DefaultClient.Do(req)
	check(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return &events{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the next event's name and data.
func (e *events) next() (name, data string, err error) {
	for {
		line, err := e.r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && (name != "" || data != ""):
			return name, data, nil
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// waitSnapshot reads snapshots until ok accepts one, and returns it.
func (e *events) waitSnapshot(t *testing.T, what string, ok func(Snapshot) bool) Snapshot {
	t.Helper()
	var last Snapshot
	for {
		name, data, err := e.next()
		if err != nil {
			t.Fatalf("waiting for %s: %v; last snapshot %+v", what, err, last)
		}
		if name != "snapshot" {
			continue
		}
		last = Snapshot{}
		check(t, json.Unmarshal([]byte(data), &last))
		if ok(last) {
			return last
		}
	}
}

func tile(s Snapshot, id string) (Instance, bool) {
	for _, in := range s.Instances {
		if in.ID == id {
			return in, true
		}
	}
	return Instance{}, false
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equal(t *testing.T, want, have any, what ...string) {
	t.Helper()
	if !reflect.DeepEqual(want, have) {
		t.Errorf("%s: want %+v, have %+v", strings.Join(what, " "), want, have)
	}
}

func contains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("want %q in:\n%s", sub, s)
	}
}

func notContains(t *testing.T, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Errorf("want no %q in:\n%s", sub, s)
	}
}
