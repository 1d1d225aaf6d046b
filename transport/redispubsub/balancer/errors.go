package balancer

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrConfig is wrapped by every invalid argument or option of New. An invalid service name wraps
	// keyspace.ErrInvalidName too, and an argument NewPublisher refuses (route, enc, dec, publisher
	// options) redispubsub.ErrConfig.
	ErrConfig = errors.New("balancer: invalid configuration")
	// ErrClosed ends every call made after Close.
	ErrClosed = errors.New("balancer: closed")
)

// Error is the error of every failed call of a Balancer's endpoint. Err is what ended the call:
//
//   - the last attempt's error once the attempts ran out (redispubsub.ErrNoResponders,
//     gobreaker.ErrOpenState, lb.ErrNoEndpoints when discovery lists no instance, a deadline, ...);
//   - a *redispubsub.RemoteError at once: the remote endpoint ran and failed, so nothing is retried;
//     but a 503 (errors.Is(err, redispubsub.ErrBusy): the instance was busy and served nothing) is
//     retried on the next instance, and ends the call only when it was the last attempt's;
//   - the context's error when Timeout ran out or the caller's context ended between attempts;
//   - ErrClosed after Close.
//
// Attempts holds the error of every attempt that ended, in order. errors.Is and errors.As look
// through Err.
type Error struct {
	Err      error
	Attempts []error
}

func (e *Error) Error() string {
	if len(e.Attempts) == 0 || len(e.Attempts) == 1 && e.Attempts[0] == e.Err {
		return e.Err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v (after %d attempts: ", e.Err, len(e.Attempts))
	for i, err := range e.Attempts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
