package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/umf"
)

// httpClient is go-kit's client idiom: Endpointer → round robin → retry.
func httpClient(instancer sd.Instancer, path string, dec httptransport.DecodeResponseFunc, logger log.Logger) (endpoint.Endpoint, *sd.DefaultEndpointer) {
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		u := &url.URL{Scheme: "http", Host: instance, Path: path}
		return httptransport.NewClient(http.MethodPost, u, httptransport.EncodeJSONRequest, dec).Endpoint(), nil, nil
	}
	endpointer := sd.NewEndpointer(instancer, factory, logger)
	retry := lb.RetryWithCallback(5*time.Second, lb.NewRoundRobin(endpointer), func(n int, err error) (bool, error) {
		var se httpStatusError
		return n < 3 && !errors.As(err, &se), nil // another instance would answer the same
	})
	return retry, endpointer
}

// httpStatusError is an answer from the service, not a failure to reach it.
type httpStatusError struct {
	code int
	body string
}

func (e httpStatusError) Error() string { return fmt.Sprintf("http %d: %s", e.code, e.body) }

func decodeHTTPResponse[T any](_ context.Context, r *http.Response) (interface{}, error) {
	if r.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1024))
		return nil, httpStatusError{r.StatusCode, string(bytes.TrimSpace(b))}
	}
	var v response[T]
	err := json.NewDecoder(r.Body).Decode(&v)
	return v.V, err
}

func decodeUMFResponse[T any](_ context.Context, m *umf.Message) (interface{}, error) {
	var v response[T]
	err := m.DecodeBody(&v)
	return v.V, err
}
