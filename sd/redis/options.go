package redis

import "time"

// Node Hydra's timings: presence is refreshed every second and expires after three.
const (
	DefaultRefreshInterval = time.Second
	DefaultTTL             = 3 * time.Second
	DefaultJanitorGrace    = 60 * time.Second
	MinJanitorGrace        = 10 * time.Second
	DefaultResync          = time.Second
	DefaultNodesScan       = 3 * time.Second
)

// RegistrarOption configures a Registrar.
type RegistrarOption func(*Registrar)

// RegistrarRefreshInterval sets how often presence and the nodes entry are rewritten (default 1 s;
// zero or less is refused).
func RegistrarRefreshInterval(d time.Duration) RegistrarOption {
	return func(r *Registrar) { r.interval = d }
}

// RegistrarTTL sets the presence key's time to live (default 3 s). It must exceed two refresh
// intervals, so that one late refresh does not make a live instance disappear.
func RegistrarTTL(d time.Duration) RegistrarOption { return func(r *Registrar) { r.ttl = d } }

// RegistrarJanitorGrace sets how long a nodes entry may live without presence before the janitor
// removes it (default 60 s, at least 10 s: Node peers cache instances for 3 s and crash when an entry
// they hold vanishes). Zero turns the janitor off in this Registrar.
func RegistrarJanitorGrace(d time.Duration) RegistrarOption {
	return func(r *Registrar) { r.grace = d }
}

// InstancerOption configures an Instancer.
type InstancerOption func(*instancerConfig)

type instancerConfig struct {
	resync    time.Duration
	nodesScan time.Duration
	byID      bool
}

// InstancerInstanceID makes the Instancer publish instance IDs instead of host:port, for the
// pub/sub transport, which addresses instances by ID. Instances without an address are then included.
func InstancerInstanceID() InstancerOption { return func(c *instancerConfig) { c.byID = true } }

// InstancerResync sets how often the live set is re-read from the service's own keys (default 1 s).
// It bounds how late an expiry (a crashed instance) is noticed. Zero or less is refused.
func InstancerResync(d time.Duration) InstancerOption {
	return func(c *instancerConfig) { c.resync = d }
}

// InstancerNodesScan sets how often the fleet-wide nodes hash is scanned for instances that Node Hydra
// registered (default 3 s, Node's own discovery cache time). Zero never scans: for fleets without Node.
func InstancerNodesScan(d time.Duration) InstancerOption {
	return func(c *instancerConfig) { c.nodesScan = d }
}
