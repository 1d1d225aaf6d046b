package health

import "errors"

var (
	// ErrConfig is wrapped by every invalid argument or option of NewReporter, NewRecorder and
	// Checker.Register. An invalid service or instance name wraps keyspace.ErrInvalidName too.
	ErrConfig = errors.New("health: invalid configuration")
	// ErrCheckTimeout is wrapped by the error of a check that did not return within its timeout.
	ErrCheckTimeout = errors.New("health: check timed out")
	// ErrCheckPanic is wrapped by the error of a check that panicked.
	ErrCheckPanic = errors.New("health: check panicked")
)
