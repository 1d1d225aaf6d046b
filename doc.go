// Package hydrakit is the client that carries a fleet: one value, made once from a go-redis client,
// that holds everything a whole fleet must agree on (the key scheme, cluster mode), the process's
// defaults (logger, clock) and what its components share (one discovery watch per service). Every
// constructor of hydrakit's packages takes it in place of the raw go-redis client, as go-kit's
// sd/consul takes a consul.Client:
//
//	client, err := hydrakit.NewClient(rdb)
//	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "greeter", Port: 8080}, logger)
//	conn, err := redispubsub.NewConn(client, "greeter", registrar.ID())
package hydrakit
