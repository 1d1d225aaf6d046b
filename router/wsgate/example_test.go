package wsgate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/coder/websocket"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/router/wsgate"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// serve is how a router puts the gateway in front of its clients; caller is its balanced HTTP
// client (the router core's).
func serve(client *hydrakit.Client, caller wsgate.HTTPCaller) (http.Handler, func(), error) {
	// DOC:begin wsgate-serve
	// The router's own Conn: service hydra-router, its instance ID. Register the instance (sd/redis,
	// Type "router") after this, so that replies and other routers' messages find it.
	conn, err := redispubsub.NewConn(client, keyspace.RouterService, keyspace.NewInstanceID())
	if err != nil {
		return nil, nil, err
	}
	gw, err := wsgate.New(client, conn,
		wsgate.GatewayHTTPCaller(caller),         // svc:[method]/path frames
		wsgate.GatewayRouterToken("6f1c…"),       // hydra-router:[get]/v1/router/… needs ?token=
		wsgate.GatewayOrigins("app.example.com"), // browser pages allowed besides same-origin
		wsgate.GatewayMaxClients(20000),          // 503 past it
		wsgate.GatewayQueue(1000, 24*time.Hour),  // each away client's reconnect queue
	)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	stop := func() { gw.Close(); conn.Close() } // the gateway first, then its Conn
	// DOC:end
	return gw, stop, nil
}

type noHTTP struct{}

func (noHTTP) CallHTTP(context.Context, string, string, string, http.Header, []byte) (wsgate.HTTPResponse, error) {
	return wsgate.HTTPResponse{}, errors.New("no HTTP in this example")
}

// A client connects, gets its ID in the connection message and pings the router.
func Example() {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer rdb.Close()
	client, _ := hydrakit.NewClient(rdb)
	defer client.Close()

	gw, stop, err := serve(client, noHTTP{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	defer stop()

	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/", nil)
	if err != nil {
		panic(err)
	}
	defer ws.CloseNow()
	_, data, _ := ws.Read(ctx)
	hello, _ := umf.Unmarshal(data)
	fmt.Println(hello.Type, strings.HasSuffix(hello.To, "@client:/"))

	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"to":"hydra-router:/","frm":"me:/","mid":"1","typ":"ping","bdy":{}}`))
	_, data, _ = ws.Read(ctx)
	fmt.Println(string(data[:strings.Index(string(data), `,"mid"`)]), strings.Contains(string(data), `"rmid":"1"`))
	// Output:
	// connection true
	// {"to":"me:/" true
}
