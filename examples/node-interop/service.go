package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/queue"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// The wire shapes, as the Node service reads and writes them.
type (
	uppercaseRequest struct {
		S string `json:"s"`
	}
	uppercaseResponse struct {
		V  string `json:"v"`
		By string `json:"by"`
	}
	jobDoneRequest struct {
		MID    string `json:"mid"`
		Result string `json:"result"`
	}
	ackResponse struct {
		OK bool `json:"ok"`
	}
	greetRequest struct {
		Name string `json:"name"`
	}
	greeting struct {
		Greeting string `json:"greeting"`
		By       string `json:"by"`
	}
	resizeJob struct {
		Image string `json:"image"`
	}
)

// goService is the Go half: it serves /uppercase and /job-done on its pub/sub Conn, is registered
// with sd/redis while it does, and calls the Node service by name through a balancer and its queue.
type goService struct {
	name      string
	conn      *redispubsub.Conn
	registrar *sdredis.Registrar
	greet     *balancer.Balancer
	producer  *queue.Producer
	node      string

	// What the Node service did to us, for the selftest: the strings it sent to /uppercase and
	// the jobs it reported done. Sends never block; a full channel drops (only selftest reads).
	uppercased chan string
	jobsDone   chan jobDoneRequest
}

func startGoService(client *hydrakit.Client, name, node string, out *lockedWriter, logger log.Logger) (*goService, error) {
	s := &goService{name: name, node: node, uppercased: make(chan string, 16), jobsDone: make(chan jobDoneRequest, 16)}
	uppercase, err := redispubsub.NewSubscriber(s.uppercaseEndpoint(out), decode[uppercaseRequest], redispubsub.EncodeJSONResponse)
	if err != nil {
		return nil, err
	}
	jobDone, err := redispubsub.NewSubscriber(s.jobDoneEndpoint(out), decode[jobDoneRequest], redispubsub.EncodeJSONResponse)
	if err != nil {
		return nil, err
	}
	if s.producer, err = queue.NewProducer(client); err != nil {
		return nil, err
	}
	s.registrar, err = sdredis.NewRegistrar(client, sdredis.Service{Name: name, Version: "1.0.0",
		Description: "Go half of hydrakit examples/node-interop"}, logger)
	if err != nil {
		return nil, err
	}
	if s.conn, err = redispubsub.NewConn(client, name, s.registrar.ID()); err != nil {
		return nil, err
	}
	s.conn.Handle("/uppercase", uppercase.ServeMessage)
	s.conn.Handle("/job-done", jobDone.ServeMessage)
	s.greet, err = balancer.New(s.conn, node, "/greet", redispubsub.EncodeJSONRequest, decode[greeting])
	if err != nil {
		_ = s.conn.Close()
		return nil, err
	}
	s.registrar.Register() // subscribed: now Node may find it
	return s, nil
}

// stop deregisters first, so that Node stops choosing this instance before it stops answering.
func (s *goService) stop() {
	s.registrar.Deregister()
	_ = s.greet.Close()
	_ = s.conn.Close()
}

func (s *goService) uppercaseEndpoint(out io.Writer) endpoint.Endpoint {
	return func(_ context.Context, req interface{}) (interface{}, error) {
		r := req.(uppercaseRequest)
		fmt.Fprintf(out, "go: request /uppercase: %q\n", r.S)
		select {
		case s.uppercased <- r.S:
		default:
		}
		return uppercaseResponse{V: strings.ToUpper(r.S), By: "go"}, nil
	}
}

func (s *goService) jobDoneEndpoint(out io.Writer) endpoint.Endpoint {
	return func(_ context.Context, req interface{}) (interface{}, error) {
		r := req.(jobDoneRequest)
		fmt.Fprintf(out, "go: job %s done by %s: %q\n", r.MID, s.node, r.Result)
		select {
		case s.jobsDone <- r:
		default:
		}
		return ackResponse{OK: true}, nil
	}
}

// greetNode calls /greet on one instance of the Node service, through sd/redis and the balancer.
func (s *goService) greetNode(ctx context.Context, name string) (greeting, error) {
	v, err := s.greet.Endpoint()(ctx, greetRequest{Name: name})
	if err != nil {
		return greeting{}, err
	}
	return v.(greeting), nil
}

// queueJob puts a job on the Node service's Hydra queue, where its getQueuedMessage finds it.
func (s *goService) queueJob(ctx context.Context, image string) (mid string, err error) {
	m, err := umf.New(s.node+":/resize", s.conn.Address(), resizeJob{Image: image})
	if err != nil {
		return "", err
	}
	return m.MID, s.producer.Enqueue(ctx, m)
}

func decode[T any](_ context.Context, m *umf.Message) (interface{}, error) {
	var v T
	err := m.DecodeBody(&v)
	return v, err
}

// lockedWriter lets handlers, the Node output reader and run print lines without interleaving.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
