package umf

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of them, so callers can
// classify failures with errors.Is.
var (
	// ErrMalformed reports input that is not a valid UMF message or not valid JSON.
	ErrMalformed = errors.New("umf: malformed message")
	// ErrBadAddress reports a to, frm, via or fwd value that is not a valid UMF address.
	ErrBadAddress = errors.New("umf: bad address")
	// ErrBadSignature reports a missing or wrong HMAC signature.
	ErrBadSignature = errors.New("umf: bad signature")
)
