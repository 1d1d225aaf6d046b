package config

import "errors"

var (
	// ErrNotFound is wrapped when a service has no document under the version asked for.
	ErrNotFound = errors.New("config: not found")
	// ErrInvalidLabel is wrapped when a label, service or version cannot be stored where Node Hydra
	// would find it.
	ErrInvalidLabel = errors.New("config: invalid label")
	// ErrInvalidOption is wrapped when a watch gets a nil callback or a non-positive interval.
	ErrInvalidOption = errors.New("config: invalid option")
	// ErrInvalidDocument is wrapped when a document is not JSON or is null.
	ErrInvalidDocument = errors.New("config: invalid document")
)
