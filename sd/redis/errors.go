package redis

import "errors"

var (
	// ErrConfig is wrapped by every invalid argument or option of a constructor.
	ErrConfig = errors.New("redis: invalid configuration")
	// ErrMalformedEntry is wrapped by every error parsing a nodes-hash entry.
	ErrMalformedEntry = errors.New("redis: malformed nodes entry")
	// ErrNotRegistered is returned by calls that need a registered instance.
	ErrNotRegistered = errors.New("redis: not registered")
)
