// Package fleet holds what the packages of hydrakit share through one *hydrakit.Client: the go-redis
// client, key scheme, logger, clock, cluster mode, and values made once per client (such as the shared
// discovery watches) that live until the client is closed.
package fleet
