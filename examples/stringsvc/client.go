package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	"github.com/sony/gobreaker"
)

// newUppercaseClient is stringsvc3's proxying client with sd/redis in place of a fixed instance list:
// Instancer → Endpointer (a circuit breaker per instance) → round robin → retry. Close the returned
// endpointer when done.
func newUppercaseClient(instancer sd.Instancer, logger log.Logger) (endpoint.Endpoint, *sd.DefaultEndpointer) {
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		u, err := url.Parse("http://" + instance + "/uppercase")
		if err != nil {
			return nil, nil, err
		}
		e := httptransport.NewClient(http.MethodPost, u, encodeJSONRequest, decodeUppercaseResponse).Endpoint()
		e = circuitbreaker.Gobreaker(gobreaker.NewCircuitBreaker(gobreaker.Settings{Name: instance, Timeout: 5 * time.Second}))(e)
		return e, nil, nil
	}
	endpointer := sd.NewEndpointer(instancer, factory, logger)
	balancer := lb.NewRoundRobin(endpointer)
	return lb.Retry(3, 2*time.Second, balancer), endpointer
}

func encodeJSONRequest(_ context.Context, r *http.Request, request any) error {
	body, err := json.Marshal(request)
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return nil
}

func decodeUppercaseResponse(_ context.Context, resp *http.Response) (any, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var r uppercaseResponse
	err := json.NewDecoder(resp.Body).Decode(&r)
	return r, err
}
