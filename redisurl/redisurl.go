package redisurl

import (
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// ErrConfig is wrapped by every error NewClient returns.
var ErrConfig = errors.New("redisurl: invalid configuration")

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// forms is what an error says the string may be.
const forms = "want redis://host:port, rediss://host:port, redis+cluster://host:port,host:port, " +
	"host:port,host:port or redis+sentinel://host:port/master"

// NewClient returns a client for addr (see the package documentation for its forms), with the TLS
// files and sentinel credentials of options: a *goredis.Client for redis:// and rediss://, a
// *goredis.ClusterClient for a cluster, and a failover *goredis.Client (goredis.NewFailoverClient) for
// redis+sentinel://. The caller closes it. It does not connect.
func NewClient(addr string, options ...Option) (goredis.UniversalClient, error) {
	p, err := parse(addr, options)
	if err != nil {
		return nil, err
	}
	switch {
	case p.cluster != nil:
		return goredis.NewClusterClient(p.cluster), nil
	case p.failover != nil:
		return goredis.NewFailoverClient(p.failover), nil
	default:
		return goredis.NewClient(p.single), nil
	}
}

// parsed holds the options of exactly one shape.
type parsed struct {
	single   *goredis.Options
	cluster  *goredis.ClusterOptions
	failover *goredis.FailoverOptions
}

func parse(addr string, options []Option) (*parsed, error) {
	var c config
	for _, o := range options {
		o(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	p, secure, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	if c.sentinelAuth {
		if p.failover == nil {
			return nil, errorf("sentinel credentials need a redis+sentinel:// or rediss+sentinel:// address")
		}
		p.failover.SentinelUsername, p.failover.SentinelPassword = c.sentinelUser, c.sentinelPass
	}
	if !secure {
		if c.caFile != "" || c.certFile != "" {
			return nil, errorf("TLS files need a TLS address (rediss://, rediss+cluster:// or rediss+sentinel://)")
		}
		return p, nil
	}
	switch {
	case p.single != nil:
		p.single.TLSConfig, err = c.tlsConfig(p.single.TLSConfig)
	case p.cluster != nil:
		p.cluster.TLSConfig, err = c.tlsConfig(nil)
	default:
		p.failover.TLSConfig, err = c.tlsConfig(nil)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}
