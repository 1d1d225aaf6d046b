package redispubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/hydrakit/hydrakit/umf"
)

// typeError is the typ of error replies; the body is an errorBody.
const typeError = "error"

// errorBody is the bdy of an error reply, shaped like Node Hydra's server responses so Node callers
// read it as they read any Hydra error (see defaultErrorEncoder).
type errorBody struct {
	StatusCode        int    `json:"statusCode"`
	StatusMessage     string `json:"statusMessage"`
	StatusDescription string `json:"statusDescription"`
	Result            struct {
		Reason string `json:"reason"`
	} `json:"result"`
}

// RemoteError is what a Publisher returns for an error reply (typ "error"): the remote endpoint ran
// and failed, or the remote Conn refused the message unserved (503 busy, 404 no handler, 400 an
// unreadable to). The instance is alive, so the balanced client (package balancer) never counts it
// against the breaker, and retries only a 503 (errors.Is(err, ErrBusy)) on another instance.
type RemoteError struct {
	Code   int    // statusCode
	Reason string // result.reason
	MID    string // mid of the request
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("redispubsub: remote error %d: %s", e.Code, e.Reason)
}

// StatusCode makes RemoteError a go-kit httptransport.StatusCoder, so a gateway can pass it on.
func (e *RemoteError) StatusCode() int { return e.Code }

// Is makes a 503 reply match ErrBusy: the instance did not serve the request.
func (e *RemoteError) Is(target error) bool { return target == ErrBusy && e.Code == busyStatus }

// ErrorEncoder writes err into the reply message (body, typ, headers) before it is published. Unless
// SubscriberErrorEncoder replaces it, a Subscriber sets typ "error" and a body shaped like Node
// Hydra's server responses, so Node callers read it as they read any Hydra error:
//
//	{"statusCode":500,"statusMessage":"Internal Server Error","statusDescription":"<err>","result":{"reason":"<err>"}}
//
// statusCode comes from the error's StatusCode() int method when it has one (go-kit's
// httptransport.StatusCoder), 400 when the request could not be decoded, 500 otherwise. A Publisher
// turns a reply with typ "error" into a *RemoteError; a custom encoder that keeps typ "error" and
// this body keeps that working.
type ErrorEncoder func(ctx context.Context, err error, reply *umf.Message)

// defaultErrorEncoder writes an errorBody and sets typ "error".
func defaultErrorEncoder(_ context.Context, err error, reply *umf.Message) {
	code := http.StatusInternalServerError
	var sc interface{ StatusCode() int }
	var de decodeError
	switch {
	case errors.As(err, &sc):
		code = sc.StatusCode()
	case errors.As(err, &de):
		code = http.StatusBadRequest
	}
	reply.Type = typeError
	_ = reply.SetBody(newErrorBody(code, err.Error()))
}

func newErrorBody(code int, reason string) errorBody {
	b := errorBody{StatusCode: code, StatusMessage: http.StatusText(code), StatusDescription: reason}
	b.Result.Reason = reason
	return b
}

// decodeError marks a failure of the DecodeRequestFunc: the caller's fault (400).
type decodeError struct{ error }

func (e decodeError) Unwrap() error { return e.error }

// remoteError turns an error reply into a *RemoteError.
func remoteError(reply *umf.Message, mid string) error {
	var b errorBody
	if err := json.Unmarshal(reply.Body, &b); err != nil || b.StatusCode == 0 {
		return &RemoteError{Code: http.StatusInternalServerError, Reason: string(reply.Body), MID: mid}
	}
	return &RemoteError{Code: b.StatusCode, Reason: b.Result.Reason, MID: mid}
}
