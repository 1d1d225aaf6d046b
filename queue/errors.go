package queue

import (
	"errors"
	"fmt"
)

var (
	// ErrConfig is wrapped by every invalid argument or option of NewConsumer, NewProducer,
	// NewInspector and NewSubscriber. An invalid service name also wraps keyspace.ErrInvalidName.
	ErrConfig = errors.New("queue: invalid configuration")
	// ErrInvalidMessage is wrapped when a message cannot be queued (no to, frm or bdy; bad address).
	ErrInvalidMessage = errors.New("queue: invalid message")
	// ErrPermanent is matched (errors.Is) by every error made by Permanent.
	ErrPermanent = errors.New("queue: permanent error")
	// ErrLeaseLost is logged when a consumer settles a message whose lease expired and was recovered:
	// the message went back to the received list, and the late result was not applied.
	ErrLeaseLost = errors.New("queue: lease lost")
	// ErrShutdownTimeout is returned by Consumer.Close when handlers did not return after their
	// context ended.
	ErrShutdownTimeout = errors.New("queue: shutdown timed out")
	// ErrNotFound is wrapped when an incomplete item to requeue or delete is no longer there.
	ErrNotFound = errors.New("queue: item not found")
)

// permanentError marks a handler error that retrying cannot fix. Its message is the wrapped
// error's, since it becomes the dead letter's bdy.reason.
type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }

// Permanent wraps err so that the consumer moves the message straight to the incomplete list
// instead of retrying it; errors.Is(err, ErrPermanent) tells such an error. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}
