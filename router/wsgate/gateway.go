package wsgate

import (
	"context"
	"errors"
	"net/http"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
)

// ErrConfig is returned by New for an invalid argument or option.
var ErrConfig = errors.New("wsgate: invalid configuration")

// HTTPResponse is what an HTTPCaller got back from a service.
type HTTPResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// HTTPCaller makes the HTTP call a frame addressed svc:[method]/path asks for, balanced across the
// service's live instances exactly like a routed HTTP request. Service "hydra-router" is the
// router's own API.
type HTTPCaller interface {
	CallHTTP(ctx context.Context, service, method, target string, header http.Header, body []byte) (HTTPResponse, error)
}

// Gateway serves WebSocket clients. STUB: being built (issue 15).
type Gateway struct{}

// GatewayOption configures a Gateway.
type GatewayOption func(*config)

type config struct {
	caller HTTPCaller
	token  string
}

// GatewayHTTPCaller sets who makes the HTTP calls frames ask for.
func GatewayHTTPCaller(c HTTPCaller) GatewayOption { return func(cfg *config) { cfg.caller = c } }

// GatewayRouterToken requires token (the router's routerToken) for frames to the router API.
func GatewayRouterToken(token string) GatewayOption { return func(cfg *config) { cfg.token = token } }

// New returns a Gateway whose pub/sub traffic goes through conn, the router's own Conn.
func New(client *hydrakit.Client, conn *redispubsub.Conn, options ...GatewayOption) (*Gateway, error) {
	if client == nil || conn == nil {
		return nil, ErrConfig
	}
	return &Gateway{}, nil
}

// ServeHTTP upgrades the request to a WebSocket.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "websocket gateway not built yet", http.StatusNotImplemented)
}

// Clients returns the IDs of the clients connected to this router.
func (g *Gateway) Clients() []string { return nil }

// Close disconnects every client and stops the gateway.
func (g *Gateway) Close() error { return nil }
