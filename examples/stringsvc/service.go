package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
)

// StringService is go-kit's classic example service.
type StringService interface {
	Uppercase(string) (string, error)
	Count(string) int
}

type stringService struct{}

// ErrEmpty is returned for an empty string.
var ErrEmpty = errors.New("empty string")

func (stringService) Uppercase(s string) (string, error) {
	if s == "" {
		return "", ErrEmpty
	}
	return strings.ToUpper(s), nil
}

func (stringService) Count(s string) int { return len(s) }

type uppercaseRequest struct {
	S string `json:"s"`
}

type uppercaseResponse struct {
	V   string `json:"v"`
	Err string `json:"err,omitempty"`
	By  string `json:"by"` // the instance that answered, so the example shows load balancing
}

func makeUppercaseEndpoint(svc StringService, instance string) endpoint.Endpoint {
	return func(_ context.Context, request any) (any, error) {
		req := request.(uppercaseRequest)
		v, err := svc.Uppercase(req.S)
		if err != nil {
			return uppercaseResponse{V: v, Err: err.Error(), By: instance}, nil
		}
		return uppercaseResponse{V: v, By: instance}, nil
	}
}

// newHandler serves POST /uppercase, as stringsvc does.
func newHandler(svc StringService, instance string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /uppercase", httptransport.NewServer(
		makeUppercaseEndpoint(svc, instance),
		decodeUppercaseRequest,
		httptransport.EncodeJSONResponse,
	))
	return mux
}

func decodeUppercaseRequest(_ context.Context, r *http.Request) (any, error) {
	var req uppercaseRequest
	err := json.NewDecoder(r.Body).Decode(&req)
	return req, err
}
