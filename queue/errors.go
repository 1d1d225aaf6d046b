package queue

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidMessage is wrapped when a message cannot be queued (no to, frm or bdy; bad address).
	ErrInvalidMessage = errors.New("queue: invalid message")
	// ErrLeaseLost is wrapped when a consumer settles a message whose lease expired and was recovered:
	// the message went back to the received list, and the late result was not applied.
	ErrLeaseLost = errors.New("queue: lease lost")
	// ErrStopped is returned by Start after Stop, and by Stop when called twice.
	ErrStopped = errors.New("queue: consumer stopped")
	// ErrShutdownTimeout is returned by Stop when handlers did not return after their context ended.
	ErrShutdownTimeout = errors.New("queue: shutdown timed out")
	// ErrNotFound is wrapped when an incomplete item to requeue or delete is no longer there.
	ErrNotFound = errors.New("queue: item not found")
)

// permanentError marks a handler error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the consumer moves the message straight to the incomplete list
// instead of retrying it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, came from Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}
