// Package router benchmarks hydrakit-router's WebSocket gateway: pub/sub echo round trips per second
// from a WebSocket client through the gateway to an hmr-style echo service and back, next to the
// same echo requested over a direct redispubsub.Conn in the same run (the gateway's baseline: what
// the socket, the JSON frames and the via hop add). Everything runs in this process on one Redis.
package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/router/wsgate"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

var inflight = []int{1, 8}

// direct holds the baseline's round trips per second by in-flight count, for the ratio.
var direct sync.Map

func BenchmarkWebSocketEcho(b *testing.B) {
	hk := redistest.Fleet(b, redistest.Client(b))
	svc := redistest.Name("ws-echo")
	startEcho(b, hk, svc)
	url := startGateway(b, hk)
	caller := newConn(b, hk, redistest.Name("caller"))
	for _, n := range inflight {
		b.Run(fmt.Sprintf("inflight=%d/direct-conn", n), func(b *testing.B) {
			rps := run(b, n, func(int) func(i int) error {
				return func(i int) error {
					m := &umf.Message{To: svc + ":/", Body: json.RawMessage(`{"n":` + strconv.Itoa(i) + `}`)}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					_, err := caller.Request(ctx, m)
					return err
				}
			})
			direct.Store(n, rps)
		})
		b.Run(fmt.Sprintf("inflight=%d/websocket", n), func(b *testing.B) {
			sockets := make([]*websocket.Conn, n)
			for w := range sockets {
				sockets[w] = dial(b, url)
			}
			rps := run(b, n, func(w int) func(i int) error {
				ws := sockets[w]
				return func(i int) error {
					mid := strconv.Itoa(i)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					frame := `{"to":"` + svc + `:/","frm":"bench:/","mid":"` + mid + `","bdy":{"n":` + mid + `}}`
					if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
						return err
					}
					_, data, err := ws.Read(ctx)
					if err != nil {
						return err
					}
					if !strings.Contains(string(data), `"rmid":"`+mid+`"`) {
						return fmt.Errorf("unexpected frame %s", data)
					}
					return nil
				}
			})
			if base, ok := direct.Load(n); ok {
				b.ReportMetric(rps/base.(float64), "x-direct")
			}
			for _, ws := range sockets {
				_ = ws.Close(websocket.StatusNormalClosure, "")
			}
		})
	}
}

// run keeps n round trips in flight (worker w makes its own with call(w)) until b.Loop ends and
// reports round trips per second.
func run(b *testing.B, n int, call func(w int) func(i int) error) float64 {
	b.ReportAllocs()
	tokens := make(chan int, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		f := call(w)
		go func() {
			defer wg.Done()
			for i := range tokens {
				if err := f(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	start := time.Now()
	i := 0
	for b.Loop() {
		tokens <- i
		i++
	}
	close(tokens)
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	rps := float64(i) / elapsed.Seconds()
	b.ReportMetric(rps, "rt/s")
	return rps
}

func newConn(b *testing.B, hk *hydrakit.Client, service string) *redispubsub.Conn {
	conn, err := redispubsub.NewConn(hk, service, keyspace.NewInstanceID())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

// startEcho registers an hmr-style echo service: every message is answered {"echo": bdy}.
func startEcho(b *testing.B, hk *hydrakit.Client, name string) {
	reg, err := sdredis.NewRegistrar(hk, sdredis.Service{Name: name}, log.NewNopLogger())
	if err != nil {
		b.Fatal(err)
	}
	conn, err := redispubsub.NewConn(hk, name, reg.ID())
	if err != nil {
		b.Fatal(err)
	}
	conn.HandleDefault(func(ctx context.Context, c *redispubsub.Conn, m *umf.Message) {
		r := &umf.Message{}
		_ = r.SetBody(map[string]json.RawMessage{"echo": m.Body})
		_ = c.Reply(ctx, m, r)
	})
	reg.Register()
	b.Cleanup(func() {
		reg.Deregister()
		_ = conn.Close()
	})
}

// startGateway serves a gateway on a router Conn and returns its WebSocket URL.
func startGateway(b *testing.B, hk *hydrakit.Client) string {
	conn, err := redispubsub.NewConn(hk, keyspace.RouterService, keyspace.NewInstanceID())
	if err != nil {
		b.Fatal(err)
	}
	g, err := wsgate.New(hk, conn)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(g)
	b.Cleanup(func() {
		_ = g.Close()
		srv.Close()
		_ = conn.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

func dial(b *testing.B, url string) *websocket.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ws.CloseNow() })
	if _, _, err := ws.Read(ctx); err != nil { // the connection message
		b.Fatal(err)
	}
	return ws
}
