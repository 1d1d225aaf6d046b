package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hydrakit/hydrakit/router"
)

// routerStep starts hydrakit-router over the demo's services and calls a greeter through it: the
// greeters register no routes, so the call takes hydra-router's /<service>/… passthrough. The router
// stays up until the tour's cleanup.
func (t *tour) routerStep(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	r, err := router.New(t.client, router.RouterAdvertise("127.0.0.1", port))
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// The router serves until the tour's cleanup, so that -stay leaves it (and its dashboard) up.
	t.stopRouter = func() {
		r.Close()
		srv.Close()
		<-served
	}
	base := fmt.Sprintf("http://%s", ln.Addr())
	t.dashboard = base + "/"
	t.say("  hydrakit-router %s registered as hydra-router; dashboard at %s/", short(r.ID()), base)

	call := func(method, path, body string) (int, string, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), err
	}
	defer http.DefaultClient.CloseIdleConnections()
	code, answer, err := call("POST", "/"+greeterService+"/greet", `{"name":"router"}`)
	if err != nil {
		return err
	}
	t.say("  POST %s/%s/greet {\"name\":\"router\"} → %d %s", base, greeterService, code, answer)
	if code != http.StatusOK || !strings.Contains(answer, "router") {
		return errors.New("the routed call was not answered by a greeter")
	}
	code, answer, err = call("GET", "/v1/router/version", "")
	if err != nil {
		return err
	}
	t.say("  GET %s/v1/router/version → %d %s", base, code, answer)
	return nil
}
