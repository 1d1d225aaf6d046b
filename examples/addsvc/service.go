package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// Service adds numbers and concatenates strings, as go-kit's addsvc does.
type Service interface {
	Sum(ctx context.Context, a, b int) (int, error)
	Concat(ctx context.Context, a, b string) (string, error)
}

// errOverflow is a client error: it travels as statusCode 400 over both transports. Sums are kept
// within JavaScript's safe integers, since UMF bodies are read by Node services too.
var errOverflow = statusError{errors.New("sum outside ±(2^53-1)"), http.StatusBadRequest}

type statusError struct {
	error
	code int
}

func (e statusError) StatusCode() int { return e.code }

type addService struct{}

func (addService) Sum(_ context.Context, a, b int) (int, error) {
	v := a + b
	if a > maxSafe || a < -maxSafe || b > maxSafe || b < -maxSafe || v > maxSafe || v < -maxSafe {
		return 0, errOverflow
	}
	return v, nil
}

func (addService) Concat(_ context.Context, a, b string) (string, error) { return a + b, nil }

// maxSafe is JavaScript's Number.MAX_SAFE_INTEGER.
const maxSafe = 1<<53 - 1

type sumRequest struct{ A, B int }
type concatRequest struct{ A, B string }

// response is the wire shape of both answers: {"v": ...}.
type response[T any] struct {
	V T `json:"v"`
}

// Endpoints are the transport-independent service: the same values serve HTTP and pub/sub.
type Endpoints struct{ Sum, Concat endpoint.Endpoint }

func makeEndpoints(s Service) Endpoints {
	return Endpoints{
		Sum: func(ctx context.Context, req interface{}) (interface{}, error) {
			r := req.(sumRequest)
			v, err := s.Sum(ctx, r.A, r.B)
			return response[int]{v}, err
		},
		Concat: func(ctx context.Context, req interface{}) (interface{}, error) {
			r := req.(concatRequest)
			v, err := s.Concat(ctx, r.A, r.B)
			return response[string]{v}, err
		},
	}
}

// HTTP: POST /sum and /concat with JSON bodies.
func httpHandler(e Endpoints) http.Handler {
	mux := http.NewServeMux()
	opts := []httptransport.ServerOption{httptransport.ServerErrorEncoder(httptransport.DefaultErrorEncoder)}
	mux.Handle("POST /sum", httptransport.NewServer(e.Sum, decodeHTTP[sumRequest], httptransport.EncodeJSONResponse, opts...))
	mux.Handle("POST /concat", httptransport.NewServer(e.Concat, decodeHTTP[concatRequest], httptransport.EncodeJSONResponse, opts...))
	return mux
}

func decodeHTTP[T any](_ context.Context, r *http.Request) (interface{}, error) {
	var v T
	err := json.NewDecoder(r.Body).Decode(&v)
	return v, err
}

// Pub/sub: the same routes on the instance's Conn.
func handlePubSub(conn *redispubsub.Conn, e Endpoints) error {
	sum, err := redispubsub.NewSubscriber(e.Sum, decodeUMF[sumRequest], redispubsub.EncodeJSONResponse,
		redispubsub.SubscriberBefore(extractRequestID))
	if err != nil {
		return err
	}
	concat, err := redispubsub.NewSubscriber(e.Concat, decodeUMF[concatRequest], redispubsub.EncodeJSONResponse,
		redispubsub.SubscriberBefore(extractRequestID))
	if err != nil {
		return err
	}
	conn.Handle("/sum", sum.ServeMessage)
	conn.Handle("/concat", concat.ServeMessage)
	return nil
}

func decodeUMF[T any](_ context.Context, m *umf.Message) (interface{}, error) {
	var v T
	err := m.DecodeBody(&v)
	return v, err
}

// A request ID travels in hdr["x-request-id"]: the caller's, or else the request's mid, so that both
// sides can log the same ID.
type requestIDKey struct{}

// setRequestID is a PublisherBefore func.
func setRequestID(ctx context.Context, msg *umf.Message) context.Context {
	id, ok := ctx.Value(requestIDKey{}).(string)
	if !ok {
		id = msg.MID
		ctx = context.WithValue(ctx, requestIDKey{}, id)
	}
	_ = msg.SetHeader("x-request-id", id)
	return ctx
}

// extractRequestID is a SubscriberBefore func: it puts the request ID into the endpoint's context.
func extractRequestID(ctx context.Context, msg *umf.Message) context.Context {
	if id, ok := msg.Header("x-request-id"); ok {
		return context.WithValue(ctx, requestIDKey{}, id)
	}
	return ctx
}
