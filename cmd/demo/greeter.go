package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// The greeter is the demo's go-kit service: one endpoint, served over HTTP and over pub/sub.
type greetRequest struct {
	Name string `json:"name"`
}

type greetResponse struct {
	Greeting string `json:"greeting"`
	By       string `json:"by"` // the instance ID that answered
}

func makeGreetEndpoint(instance string) endpoint.Endpoint {
	return func(_ context.Context, request any) (any, error) {
		req := request.(greetRequest)
		if req.Name == "" {
			return nil, errors.New("greeter: name is empty")
		}
		return greetResponse{Greeting: "hello, " + req.Name, By: instance}, nil
	}
}

// runGreeter is one greeter instance, run as a child process so the demo can SIGKILL it. It prints
// "ready <instance ID> <host:port>" once it is registered and serving. Its own events go to logger
// through the flight recorder; hydrakit's components log to the client's logger.
func runGreeter(ctx context.Context, client *hydrakit.Client, name string, metrics http.Handler, stdout io.Writer, logger log.Logger) error {
	id := keyspace.NewInstanceID()
	// The flight recorder keeps info and above, so the demo has entries to show.
	recorder, err := health.NewRecorder(client, name, id, health.RecorderNext(logger),
		health.RecorderLevels(level.InfoValue(), level.WarnValue(), level.ErrorValue()))
	if err != nil {
		return err
	}
	defer recorder.Close()
	logger = log.With(recorder, "instance", id)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	greet := makeGreetEndpoint(id)

	// Subscribe before announcing presence, so that no message sent to a visible instance is lost.
	sub, err := redispubsub.NewSubscriber(greet, decodeGreetMessage, redispubsub.EncodeJSONResponse)
	if err != nil {
		_ = ln.Close()
		return err
	}
	conn, err := redispubsub.NewConn(client, name, id)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer conn.Close() // after the HTTP server's shutdown; it cancels the handlers still running
	conn.Handle("/greet", sub.ServeMessage)
	conn.Handle("/announce", func(ctx context.Context, c *redispubsub.Conn, msg *umf.Message) {
		level.Info(logger).Log("msg", "broadcast received", "mid", msg.MID)
		ack, err := umf.New(msg.From, c.Address(), map[string]string{"by": id})
		if err == nil {
			ack.Type = "ack"
			err = c.Send(ctx, ack)
		}
		if err != nil {
			level.Error(logger).Log("msg", "ack failed", "err", err)
		}
	})

	mux := http.NewServeMux()
	mux.Handle("POST /greet", httptransport.NewServer(greet, decodeGreetHTTP, httptransport.EncodeJSONResponse))
	mux.Handle("GET /metrics", metrics) // Prometheus, docs/observability.md
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()

	checker := health.NewChecker()
	if err := checker.Register("redis", health.RedisCheck(client)); err != nil {
		return err
	}
	reporter, err := health.NewReporter(client, name, id, health.ReporterChecker(checker))
	if err != nil {
		return err
	}
	defer reporter.Close()

	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: name, ID: id, IP: "127.0.0.1", Port: port, Version: "1.0.0",
		Description: "hydrakit demo greeter"}, logger)
	if err != nil {
		return err
	}
	registrar.Register()
	level.Info(logger).Log("msg", "greeter started", "addr", ln.Addr())
	fmt.Fprintln(stdout, "ready", id, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))

	select {
	case <-ctx.Done():
	case err := <-served:
		level.Error(logger).Log("msg", "HTTP server stopped", "err", err)
	}
	level.Info(logger).Log("msg", "greeter shutting down")
	registrar.Deregister() // presence first, so callers stop choosing this instance before it stops answering
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return server.Shutdown(shutdown)
}

func decodeGreetMessage(_ context.Context, msg *umf.Message) (any, error) {
	var req greetRequest
	err := msg.DecodeBody(&req)
	return req, err
}

func decodeGreetHTTP(_ context.Context, r *http.Request) (any, error) {
	var req greetRequest
	err := json.NewDecoder(r.Body).Decode(&req)
	return req, err
}
