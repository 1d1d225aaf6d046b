// Package conninfo lets package balancer reach what it needs of a redispubsub.Conn (its client, its
// state, its resubscriptions, the side an error comes from) without making it part of the Conn's
// public API (as internal/fleet does for hydrakit.Client). Package redispubsub sets every func in its
// init.
package conninfo

import "github.com/hydrakit/hydrakit"

var (
	// Client returns the client of a *redispubsub.Conn, or nil for anything else (a nil Conn
	// included).
	Client func(conn any) *hydrakit.Client
	// Ready returns nil when a *redispubsub.Conn is subscribed (so that a request's reply can arrive),
	// else the error a request would fail with now: ErrClosed or ErrConnectionLost.
	Ready func(conn any) error
	// OnResubscribe registers f to run every time a *redispubsub.Conn has subscribed again after a
	// loss, on its reading goroutine (so f must be quick); remove unregisters it.
	OnResubscribe func(conn any, f func()) (remove func())
	// CallerSide reports whether err, returned by a Publisher's endpoint, is the caller's own failure
	// (its subscription lost, its Conn closed or full, its PUBLISH failed), which says nothing about
	// the instance called.
	CallerSide func(err error) bool
)
