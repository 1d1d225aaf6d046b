package dashboard

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

const (
	idA = "aaaa0000000000000000000000000001"
	idB = "bbbb0000000000000000000000000002"
	idC = "cccc0000000000000000000000000003"
	idR = "dddd0000000000000000000000000004"
)

func TestNewValidates(t *testing.T) {
	f := newMiniFleet(t)
	for name, options := range map[string][]DashboardOption{
		"interval":   {DashboardInterval(0)},
		"resync":     {DashboardResync(-time.Second)},
		"write":      {DashboardWriteTimeout(0)},
		"services":   {DashboardMaxServices(0)},
		"streams":    {DashboardMaxStreams(0)},
		"nil logger": {DashboardLogger(nil)},
	} {
		if _, err := New(f.client, options...); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, have %v", name, err)
		}
	}
	if _, err := New(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil client: want ErrConfig, have %v", err)
	}
}

// The snapshot is built from the fleet's records: live and dead tiles from presence, health from the
// health key, routes, queue depths, rates from the router's counts, and clients.
func TestSnapshotFromRedis(t *testing.T) {
	f := newMiniFleet(t)
	keys := f.client.Keyspace()
	f.addNode(t, "alpha", idA, 5001, true)
	f.addNode(t, "alpha", idB, 5002, true)
	f.addNode(t, "alpha", idC, 5003, false) // its presence is gone: a dead tile
	f.addNode(t, "hydra-router", idR, 8080, true)
	check(t, f.m.Set(keys.Health("alpha", idA), `{"updatedOn":"2026-01-02T03:04:05.000Z","serviceName":"alpha",`+
		`"sampledOn":"2026-01-02T03:04:05.000Z","memory":{"rss":10485760,"heapTotal":1,"heapUsed":2097152,"external":0},`+
		`"uptimeSeconds":61.5,"status":"degraded"}`))
	check(t, f.m.Set(keys.Health("alpha", idB), `not json`))
	_, err := f.m.SAdd(keys.Routes("alpha"), "[get]/v1/alpha", "[post]/v1/alpha/:id")
	check(t, err)
	_, err = f.m.Lpush(keys.QueueReceived("alpha"), `{"to":"alpha:/","frm":"x:/","mid":"1","bdy":{}}`)
	check(t, err)
	_, err = f.m.Lpush(keys.QueueIncomplete("alpha"), `{"to":"alpha:/","frm":"x:/","mid":"2","bdy":{}}`)
	check(t, err)

	var requests atomic.Uint64
	_, srv := newDashboard(t, f.client,
		DashboardRouter(idR, "9.9.9"),
		DashboardInterval(20*time.Millisecond),
		DashboardTraffic(func() []Traffic {
			n := requests.Add(10)
			return []Traffic{{Service: "alpha", Requests: n, Errors: n / 10}}
		}),
		DashboardClients(func() []string { return []string{"ws1", "ws2"} }),
	)
	ev := openEvents(t, srv.URL+"/dashboard/events")
	s := ev.waitSnapshot(t, "three alpha tiles, rates and health", func(s Snapshot) bool {
		a, _ := tile(s, idA)
		return len(s.Instances) == 4 && a.Health != nil && len(s.Services) == 2 && s.Services[0].RequestRate > 0
	})

	equal(t, RouterInfo{InstanceID: idR, Version: "9.9.9", Host: s.Router.Host}, s.Router)
	a, _ := tile(s, idA)
	equal(t, Instance{
		Service: "alpha", ID: idA, Description: "test", Host: "box-aaaa", IP: "10.0.0.7", Port: 5001,
		Version: "1.2.3", ProcessID: 42, UpdatedOn: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Live: true,
		Health: &Health{Status: "degraded", RSS: 10 << 20, HeapUsed: 2 << 20, UptimeSeconds: 61.5,
			SampledOn: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}, a)
	b, _ := tile(s, idB)
	equal(t, &Health{Unreadable: true}, b.Health)
	c, _ := tile(s, idC)
	equal(t, false, c.Live)
	equal(t, (*Health)(nil), c.Health)
	r, _ := tile(s, idR)
	equal(t, true, r.Live)
	equal(t, []string{idA, idB, idC, idR}, []string{s.Instances[0].ID, s.Instances[1].ID, s.Instances[2].ID, s.Instances[3].ID})

	alpha := s.Services[0]
	equal(t, "alpha", alpha.Name)
	equal(t, 2, alpha.Live)
	equal(t, []string{"[get]/v1/alpha", "[post]/v1/alpha/:id"}, alpha.Routes)
	equal(t, 2, alpha.RoutesTotal)
	equal(t, Queue{Received: 1, DeadLetters: 1}, alpha.Queue)
	if alpha.Requests == 0 {
		t.Error("no requests")
	}
	equal(t, "hydra-router", s.Services[1].Name)
	equal(t, Clients{Total: 2, IDs: []string{"ws1", "ws2"}}, s.Clients)
	equal(t, "", s.Error)

	// Presence lost: the tile turns dead on the Instancer's push, not on a re-read of the nodes hash.
	f.m.Del(keys.Presence("alpha", idB))
	ev.waitSnapshot(t, "B dead", func(s Snapshot) bool {
		b, ok := tile(s, idB)
		return ok && !b.Live
	})
	// An entry removed from the nodes hash (by /v1/router/clear) loses its tile.
	f.m.HDel(keys.Nodes(), idC)
	ev.waitSnapshot(t, "C gone", func(s Snapshot) bool { _, ok := tile(s, idC); return !ok })
}

// An instance whose presence arrives before its nodes entry is read still gets a tile at once.
func TestNewInstanceShown(t *testing.T) {
	f := newMiniFleet(t)
	f.addNode(t, "alpha", idA, 5001, true)
	_, srv := newDashboard(t, f.client, DashboardInterval(time.Hour))
	ev := openEvents(t, srv.URL+"/dashboard/events")
	ev.waitSnapshot(t, "A", func(s Snapshot) bool { return len(s.Instances) == 1 })
	f.addNode(t, "alpha", idB, 5002, true) // found by the Instancer's nodes scan; the hourly read is far
	s := ev.waitSnapshot(t, "B with its entry", func(s Snapshot) bool {
		b, ok := tile(s, idB)
		return ok && b.Live && b.Port == 5002
	})
	equal(t, 2, len(s.Instances))
}

func TestMaxServices(t *testing.T) {
	f := newMiniFleet(t)
	f.addNode(t, "alpha", idA, 1, true)
	f.addNode(t, "beta", idB, 2, true)
	f.addNode(t, "gamma", idC, 3, true)
	_, srv := newDashboard(t, f.client, DashboardMaxServices(2))
	s := openEvents(t, srv.URL+"/dashboard/events").waitSnapshot(t, "two services", func(s Snapshot) bool {
		return len(s.Services) == 2 && len(s.Instances) == 2
	})
	equal(t, "alpha", s.Services[0].Name)
	equal(t, "beta", s.Services[1].Name)
	equal(t, 1, s.Unfollowed)
}

func TestRates(t *testing.T) {
	var v view
	v.init()
	t0 := time.Unix(1000, 0)
	v.updateRates(t0, []Traffic{{Service: "a", Requests: 100, Errors: 1}})
	equal(t, 0, len(v.rates), "no rate without a previous count")
	v.updateRates(t0.Add(2*time.Second), []Traffic{{Service: "a", Requests: 300, Errors: 5}, {Service: "b", Requests: 7}})
	equal(t, map[string][2]float64{"a": {100, 2}}, v.rates)
	v.updateRates(t0.Add(3*time.Second), []Traffic{{Service: "a", Requests: 3}, {Service: "b", Requests: 8}})
	equal(t, map[string][2]float64{"b": {1, 0}}, v.rates, "a restarted counter gives no rate")
}

func TestEventFraming(t *testing.T) {
	raw := string(encodeEvent(Snapshot{Error: "line one\nline two", Services: []Service{}, Instances: []Instance{}}))
	if !(strings.HasPrefix(raw, "event: snapshot\ndata: {")) {
		t.Fatal(raw)
	}
	if !(strings.HasSuffix(raw, "}\n\n")) {
		t.Fatal(raw)
	}
	equal(t, 3, strings.Count(raw, "\n"), "one event line, one data line, one blank line: "+raw)
}

func TestServeHTTP(t *testing.T) {
	f := newMiniFleet(t)
	d, err := New(f.client, DashboardRouter(idR, "1.0.0"))
	check(t, err)
	defer d.Close()
	for _, c := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/dashboard/", 200, "text/html; charset=utf-8"},
		{"GET", "/dashboard/assets/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/dashboard/assets/app.css?token=x", 200, "text/css; charset=utf-8"},
		{"GET", "/dashboard/assets/", 404, ""},
		{"GET", "/dashboard/assets/index.html", 404, ""},
		{"GET", "/dashboard/nope", 404, ""},
		{"POST", "/dashboard/events", 405, ""},
	} {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if want, have := c.status, rec.Code; want != have {
			t.Errorf("%s %s: want %d, have %d", c.method, c.path, want, have)
		}
		if c.contentType != "" {
			equal(t, c.contentType, rec.Header().Get("Content-Type"), c.path)
		}
	}
}

// The page carries the query's token into the URLs of its assets; the script adds it to the event
// stream's and the clear call's (checked in a browser by TestBrowser).
func TestTokenCarried(t *testing.T) {
	f := newMiniFleet(t)
	d, err := New(f.client)
	check(t, err)
	defer d.Close()
	get := func(url string) string {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
		return rec.Body.String()
	}
	body := get("/?token=6f1c2a3e-2b8f-4a57-9a1d-0c9b7e5d4f21")
	contains(t, body, `src="/dashboard/assets/app.js?token=6f1c2a3e-2b8f-4a57-9a1d-0c9b7e5d4f21"`)
	contains(t, body, `href="/dashboard/assets/app.css?token=6f1c2a3e-2b8f-4a57-9a1d-0c9b7e5d4f21"`)
	body = get("/?token=" + `%22%3E%3Cscript%3Ealert(1)%3C/script%3E`)
	notContains(t, body, "<script>alert")
	contains(t, body, `app.js?token=%22%3e%3cscript%3ealert%281%29%3c%2fscript%3e"`)
	body = get("/")
	contains(t, body, `src="/dashboard/assets/app.js"`)
}

func TestStreamCap(t *testing.T) {
	f := newMiniFleet(t)
	_, srv := newDashboard(t, f.client, DashboardMaxStreams(2))
	for range 2 {
		openEvents(t, srv.URL+"/dashboard/events").waitSnapshot(t, "first", func(Snapshot) bool { return true })
	}
	resp, err := http.Get(srv.URL + "/dashboard/events")
	check(t, err)
	resp.Body.Close()
	if want, have := http.StatusServiceUnavailable, resp.StatusCode; want != have {
		t.Fatalf("third stream: want %d, have %d", want, have)
	}
}

// A stream that takes no events is dropped once its buffer is full: the loop never waits for it.
func TestSlowStreamDropped(t *testing.T) {
	h := newHub(4)
	s, err := h.join()
	check(t, err)
	for range streamBuffer {
		h.broadcast([]byte("x"))
	}
	select {
	case <-s.gone:
		t.Fatal("dropped with room in its buffer")
	default:
	}
	h.broadcast([]byte("x"))
	<-s.gone
	equal(t, 0, h.count())
	h.leave(s)
	h.close()
}

// A browser that stops reading is cut off by the write timeout, over a real connection.
func TestStalledBrowserCutOff(t *testing.T) {
	f := newMiniFleet(t)
	d, srv := newDashboard(t, f.client, DashboardWriteTimeout(100*time.Millisecond), DashboardInterval(time.Hour))
	resp, err := http.Get(srv.URL + "/dashboard/events")
	check(t, err)
	defer resp.Body.Close() // never read: the socket buffers fill up
	big := encodeEvent(Snapshot{Error: strings.Repeat("x", 1<<20)})
	if !redistest.Poll(func() bool {
		d.hub.broadcast(big)
		return d.hub.count() == 0
	}) {
		t.Fatal("the stalled stream is still open")
	}
}

func TestCloseEndsStreams(t *testing.T) {
	f := newMiniFleet(t)
	d, err := New(f.client, DashboardLogger(log.NewNopLogger()))
	check(t, err)
	srv := httptest.NewServer(d)
	defer srv.Close()
	ev := openEvents(t, srv.URL+"/dashboard/events")
	ev.waitSnapshot(t, "first", func(Snapshot) bool { return true })
	check(t, d.Close())
	if _, err := io.ReadAll(ev.r); err != nil {
		t.Fatalf("stream did not end cleanly: %v", err)
	}
	resp, err := http.Get(srv.URL + "/dashboard/events")
	check(t, err)
	resp.Body.Close()
	equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	check(t, d.Close()) // twice is fine
}
