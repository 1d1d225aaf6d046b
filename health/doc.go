// Package health reports a service instance's health the way Node Hydra does and better: a Reporter
// writes Hydra's health snapshot (Node's field names, Go runtime figures, a roll-up of user checks)
// with a TTL longer than its interval, a Checker runs named checks with timeouts, each at most once
// at a time and once a second whatever the probe rate, and serves them as liveness and readiness
// HTTP probes, and a Recorder is a go-kit log.Logger that copies chosen levels
// into Hydra's flight-recorder log without ever blocking its caller. Reporters and Recorders take the
// fleet's *hydrakit.Client (its keys, clock and logger), start in their constructors and stop with
// Close.
package health
