package health

import "errors"

var (
	// ErrInvalidOption is wrapped by constructor errors about option values (intervals, TTLs, sizes).
	ErrInvalidOption = errors.New("health: invalid option")
	// ErrCheckTimeout is wrapped by the error of a check that did not return within its timeout.
	ErrCheckTimeout = errors.New("health: check timed out")
	// ErrCheckPanic is wrapped by the error of a check that panicked.
	ErrCheckPanic = errors.New("health: check panicked")
)
