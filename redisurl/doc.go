// Package redisurl builds a go-redis UniversalClient from one string, for every Redis shape hydrakit
// runs on: one server, TLS, a Redis Cluster and a Sentinel-managed primary. It is the one reader of the
// -redis flag (and -redis-ca, -redis-cert, -redis-key) of the examples, the demo and the command line
// tool.
//
// The string is one of:
//
//	redis://[user:password@]host[:port][/db][?option=value&...]   one server (go-redis ParseURL)
//	rediss://...                                                  the same over TLS
//	redis+cluster://[user:password@]host:port[,host:port...]      a Redis Cluster, from seed nodes
//	rediss+cluster://...                                          the same over TLS
//	host:port,host:port[,...]                                     shorthand for redis+cluster://
//	redis+sentinel://[user:password@]host:port[,host:port...]/master[/db]
//	rediss+sentinel://...                                         the same over TLS
//
// redis:// and rediss:// are go-redis's own URLs: the query options are those of goredis.ParseURL
// (dial_timeout, pool_size, ...). The other forms take no query options.
//
// A cluster is named by a comma-separated list of seed nodes: any reachable one is enough, the client
// learns the others from the cluster. The list needs two seeds or more without a scheme; a single bare
// host:port is refused rather than guessed (one server, or one seed of a cluster?): write
// redis://host:port or redis+cluster://host:port. Credentials and TLS need the redis+cluster:// and
// rediss+cluster:// forms. A cluster has only database 0.
//
// A Sentinel-managed primary is named by its sentinels and the master name they monitor it under, with
// an optional database number: redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/0. The user
// and password are those of the data nodes (the primary and its replicas), as with the other forms;
// sentinels that require a password of their own take SentinelAuth. rediss+sentinel:// speaks TLS to
// the sentinels and to the data nodes.
//
// Ports default to 6379, and to 26379 for sentinels. IPv6 addresses are written in brackets:
// [::1]:6379. The user and password are percent-encoded as in any URL (a password containing "%"
// writes it "%25"); "@", "/", "?" and ":" may also be written as they are in the password, since the
// last "@" of the string ends it. So a query value cannot contain "@": write it "%40".
//
// TLS files are options, applied to whichever form the string has: CAFile trusts a private CA instead
// of the system's roots, ClientCert shows a client certificate to servers that ask for one (mutual
// TLS). They need a TLS form (rediss://, rediss+cluster://, rediss+sentinel://): NewClient refuses them
// with a plain-text address rather than ignore them or turn TLS on silently.
//
// Every error wraps ErrConfig and names the part of the string at fault; none repeats a password.
// NewClient does not connect: the first command does.
package redisurl
