// Package instance is hydrakit's copy of the behaviour of go-kit's sd/internal/instance cache, which
// cannot be imported from another module: it holds the latest sd.Event of an Instancer, sorts instance
// lists, suppresses identical events, gives every subscriber its own copy and pushes the current state
// synchronously to a subscriber when it registers. Unlike go-kit's, a subscriber that does not read
// holds up no other: it gets the newest state when it reads again.
package instance
