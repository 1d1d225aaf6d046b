package redis

import "github.com/hydrakit/hydrakit/keyspace"

// The keys and channels of hydrakit's own that this package reads and writes. Node Hydra reads none.

// indexKey is the set of instance IDs that hydrakit Registrars keep alive for a service, so that a
// watcher finds Go instances without reading the fleet-wide nodes hash.
func indexKey(s keyspace.Scheme, service string) string { return s.Own(service, "instances") }

// eventsChannel carries join and leave announcements of hydrakit Registrars, so that watchers react in
// milliseconds instead of at their next resync.
func eventsChannel(s keyspace.Scheme, service string) string { return s.Own(service, "events") }

// janitorLock is held (SET NX PX) by the one janitor of the fleet allowed to act in a period.
func janitorLock(s keyspace.Scheme) string { return s.OwnGlobal("sd", "janitor") }
