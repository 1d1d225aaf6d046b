// Package keyspace names every Redis key and channel hydrakit reads or writes.
//
// New() produces Node Hydra 1.9.3's exact names, so Go and Node services share one fleet. A Scheme is
// a value: the package holds no state a caller could change under another.
// WithPrefix moves a fleet to another prefix, and ClusterSafe hash-tags every per-service key and
// channel so that all keys of one service share a Redis Cluster slot and its channels one shard
// (Node Hydra cannot read that variant).
package keyspace
