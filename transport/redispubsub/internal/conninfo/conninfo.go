// Package conninfo lets package balancer reach the client a redispubsub.Conn was made with, without
// making it part of the Conn's public API (as internal/fleet does for hydrakit.Client).
package conninfo

import "github.com/hydrakit/hydrakit"

// Client returns the client of a *redispubsub.Conn, or nil for anything else (a nil Conn included).
// Package redispubsub sets it in its init.
var Client func(conn any) *hydrakit.Client
