// Package keyspace names every Redis key and channel hydrakit reads or writes.
//
// The default Scheme produces Node Hydra 1.9.3's exact names, so Go and Node services share one fleet.
// WithPrefix moves a fleet to another prefix, and ClusterSafe hash-tags every per-service key so that
// all keys of one service share a Redis Cluster slot (Node Hydra cannot read that variant).
package keyspace
