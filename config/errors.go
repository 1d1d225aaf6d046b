package config

import "errors"

var (
	// ErrConfig is wrapped by every invalid argument or option of NewStore and Store.Watch. A label
	// Watch cannot follow wraps ErrInvalidLabel too.
	ErrConfig = errors.New("config: invalid configuration")
	// ErrNotFound is wrapped when a service has no document under the version asked for.
	ErrNotFound = errors.New("config: not found")
	// ErrInvalidLabel is wrapped when a label, service or version cannot be stored where Node Hydra
	// would find it. An invalid service name wraps keyspace.ErrInvalidName too.
	ErrInvalidLabel = errors.New("config: invalid label")
	// ErrInvalidDocument is wrapped when a document is not JSON or is null.
	ErrInvalidDocument = errors.New("config: invalid document")
)
