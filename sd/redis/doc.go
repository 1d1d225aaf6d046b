// Package redis provides go-kit service discovery on Redis, with Node Hydra 1.9.3's presence scheme:
// a Registrar that registers an instance exactly as Node Hydra does (service record, presence key with
// a TTL, nodes-hash entry), an Instancer that keeps the live instances of a service in memory and pushes
// them to go-kit (host:port by default, instance IDs by option); each Registrar also runs the fleet's
// janitor, which prunes dead nodes entries. Go and Node Hydra services discover each other both ways.
// A Registrar fills in the instance's ip and version as Node does, and re-registers everything, routes
// included, when Redis lost its data. Both take a *hydrakit.Client, which carries the key scheme and
// the watches Instancers share.
package redis
