package keyspace

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// DefaultPrefix is Node Hydra's prefix for every key; channels add ":mc".
const DefaultPrefix = "hydra:service"

// RouterService is hydra-router's service name; its broadcast channel receives route refreshes.
const RouterService = "hydra-router"

// ErrInvalidName is wrapped by every service and instance name validation error.
var ErrInvalidName = errors.New("keyspace: invalid name")

// Scheme builds key and channel names. The zero value is not usable; call New.
type Scheme struct {
	prefix      string // e.g. "hydra:service"
	channel     string // prefix + ":mc"
	own         string // prefix of hydrakit's own keys and channels
	clusterSafe bool
}

// Option configures a Scheme.
type Option func(*Scheme)

// WithPrefix replaces "hydra:service" in every key and channel. Node Hydra only sees the default.
func WithPrefix(prefix string) Option {
	return func(s *Scheme) { s.prefix = strings.TrimSuffix(prefix, ":") }
}

// ClusterSafe wraps the service name of every per-service key and channel in a hash tag ({svc}), so
// that the multi-key operations of one service (Lua, LMOVE) stay in one Redis Cluster slot and its
// channels on one shard. Node Hydra does not read these names: use it only for fleets of hydrakit
// services.
func ClusterSafe() Option {
	return func(s *Scheme) { s.clusterSafe = true }
}

// New returns a Scheme with Node Hydra's names unless options say otherwise: New() is Node Hydra's
// scheme. A Scheme is a value; nothing in this package can change one a caller holds.
func New(options ...Option) Scheme {
	s := Scheme{prefix: DefaultPrefix}
	for _, o := range options {
		o(&s)
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	s.channel = s.prefix + ":mc"
	// hydrakit's own keys live beside Hydra's under the same prefix, in a segment Node never scans
	// (Node only SCANs *:service, *:routes and *:presence).
	s.own = s.prefix + ":hydrakit"
	return s
}

// Prefix is the key prefix, "hydra:service" by default.
func (s Scheme) Prefix() string { return s.prefix }

// IsClusterSafe reports whether per-service keys carry a hash tag.
func (s Scheme) IsClusterSafe() bool { return s.clusterSafe }

// svc is the service segment of a per-service key.
func (s Scheme) svc(service string) string {
	if s.clusterSafe {
		return "{" + service + "}"
	}
	return service
}

func (s Scheme) key(service string, parts ...string) string {
	return s.join(s.prefix, service, parts)
}

// join builds base:<svc segment>:<parts...>.
func (s Scheme) join(base, service string, parts []string) string {
	var b strings.Builder
	b.WriteString(base)
	b.WriteByte(':')
	b.WriteString(s.svc(service))
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// Service is the string key holding {"serviceName","type","registeredOn"}.
func (s Scheme) Service(service string) string { return s.key(service, "service") }

// Routes is the set of "[verb]/path" routes of a service.
func (s Scheme) Routes(service string) string { return s.key(service, "service", "routes") }

// Configs is the hash of version → config document.
func (s Scheme) Configs(service string) string { return s.key(service, "configs") }

// Presence is the string key (value: the bare instance ID) whose TTL marks an instance alive.
func (s Scheme) Presence(service, instance string) string {
	return s.key(service, instance, "presence")
}

// Health is the string key holding an instance's health snapshot.
func (s Scheme) Health(service, instance string) string { return s.key(service, instance, "health") }

// HealthLog is the list holding an instance's flight-recorder entries, newest first.
func (s Scheme) HealthLog(service, instance string) string {
	return s.key(service, instance, "health", "log")
}

// Nodes is the fleet-wide hash of instance ID → nodes entry JSON. It is the one key shared by all
// services, so it carries no hash tag.
func (s Scheme) Nodes() string { return s.prefix + ":nodes" }

// QueueReceived is the list new queue messages are LPUSHed to. The misspelling is Hydra's.
func (s Scheme) QueueReceived(service string) string { return s.key(service, "mqrecieved") }

// QueueInProgress is the list messages move to while a consumer works on them.
func (s Scheme) QueueInProgress(service string) string { return s.key(service, "mqinprogress") }

// QueueIncomplete is the list failed messages are RPUSHed to, with bdy.reason set.
func (s Scheme) QueueIncomplete(service string) string { return s.key(service, "mqincomplete") }

// ServiceChannel is the broadcast channel every instance of a service subscribes to. Cluster-safe,
// the service name is hash-tagged (<prefix>:mc:{svc}), so that a service's channels share one slot
// and sharded pub/sub (SSUBSCRIBE, SPUBLISH) keeps them on one shard.
func (s Scheme) ServiceChannel(service string) string { return s.channel + ":" + s.svc(service) }

// InstanceChannel is the channel of one instance: direct messages and replies. Cluster-safe, it
// carries the same hash tag as the service's channel (<prefix>:mc:{svc}:<iid>).
func (s Scheme) InstanceChannel(service, instance string) string {
	return s.channel + ":" + s.svc(service) + ":" + instance
}

// RouterChannel is hydra-router's broadcast channel, where route refreshes are announced. It keeps
// Hydra's name in every scheme: hydra-router SUBSCRIBEs to it by that name, and announcements to it
// go by plain PUBLISH, which reaches every node of a cluster.
func (s Scheme) RouterChannel() string { return s.channel + ":" + RouterService }

// Own returns a key or channel of hydrakit's own (not read by Node Hydra) for a service:
// <prefix>:hydrakit:<svc>:<parts...>, hash-tagged like every per-service key when cluster-safe.
// Packages build their own names through it, one function per name, pinned by table tests.
func (s Scheme) Own(service string, parts ...string) string {
	return s.join(s.own, service, parts)
}

// OwnGlobal returns a fleet-wide key or channel of hydrakit's own: <prefix>:hydrakit:<parts...>.
func (s Scheme) OwnGlobal(parts ...string) string {
	return s.own + ":" + strings.Join(parts, ":")
}

// ValidateService checks a service name and returns it lower-cased, as Node Hydra registers it.
// Names with ':', white space, glob characters (Hydra builds SCAN patterns from names) or hash-tag
// braces are rejected.
func ValidateService(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty service name", ErrInvalidName)
	}
	for _, r := range name {
		switch {
		case r == ':' || r == '*' || r == '?' || r == '[' || r == ']' || r == '{' || r == '}':
			return "", fmt.Errorf("%w: service name %q contains %q", ErrInvalidName, name, r)
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return "", fmt.Errorf("%w: service name %q contains white space or a control character", ErrInvalidName, name)
		}
	}
	return strings.ToLower(name), nil
}

// ValidateInstance checks an instance ID: non-empty, and free of '-', ':', '@', glob characters and
// white space, since instance IDs appear in addresses (iid@svc:/) and in keys.
func ValidateInstance(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty instance ID", ErrInvalidName)
	}
	for _, r := range id {
		if strings.ContainsRune("-:@*?[]{}", r) || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%w: instance ID %q contains %q", ErrInvalidName, id, r)
		}
	}
	return nil
}

// NewInstanceID returns a fresh instance ID as Node Hydra makes them: a UUIDv4 without dashes.
func NewInstanceID() string {
	u := uuid.New()
	var b [32]byte
	const hex = "0123456789abcdef"
	for i, c := range u {
		b[2*i] = hex[c>>4]
		b[2*i+1] = hex[c&0x0f]
	}
	return string(b[:])
}
