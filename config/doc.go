// Package config stores versioned configuration documents in a service's Hydra configs hash
// (hydra:service:<svc>:configs, version → JSON), the way Node Hydra's putConfig/getConfig and
// hydra-cli's cfg commands use it, lists versions in version order rather than string order, loads a
// version into a Go struct and watches a version, or the latest one, so a service reloads without a
// restart.
package config
