package embedded

import (
	"errors"
	"flag"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/redisurl"
)

// tick is how often TTLs are aged: presence keys live 3 s, so 50 ms keeps expiry within 2% of real time.
const tick = 50 * time.Millisecond

// Server is a miniredis listening on a loopback port, with real-time key expiry.
type Server struct {
	*miniredis.Miniredis
	stop chan struct{}
	done sync.WaitGroup
}

// Start starts the server on a free loopback port; Close stops it.
func Start() (*Server, error) { return StartAt("") }

// StartAt starts the server on addr when addr is free, and on a free loopback port otherwise (or when
// addr is empty): an address is a convenience for people typing commands, never a requirement.
func StartAt(addr string) (*Server, error) {
	m := miniredis.NewMiniRedis()
	err := errors.New("no address asked for")
	if addr != "" {
		err = m.StartAddr(addr)
	}
	if err != nil {
		if err = m.Start(); err != nil {
			return nil, err
		}
	}
	s := &Server{Miniredis: m, stop: make(chan struct{})}
	s.done.Add(1)
	go s.age()
	return s, nil
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

func (s *Server) age() {
	defer s.done.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Close stops the clock and the server.
func (s *Server) Close() {
	close(s.stop)
	s.done.Wait()
	s.Miniredis.Close()
}

// Redis is where an example's Redis is: the -redis, -redis-ca, -redis-cert and -redis-key flags.
// Listen is where an embedded Redis listens when that address is free (default: any free port).
type Redis struct {
	URL, CA, Cert, Key string
	Listen             string
}

// AddFlags registers the four flags on fs.
func AddFlags(fs *flag.FlagSet) *Redis {
	r := &Redis{}
	fs.StringVar(&r.URL, "redis", "", "Redis: redis://, rediss://, redis+sentinel://h:p,…/master, or cluster seeds h:p,h:p (empty: an embedded Redis)")
	fs.StringVar(&r.CA, "redis-ca", "", "PEM file of the CA that signed the Redis server's certificate (TLS)")
	fs.StringVar(&r.Cert, "redis-cert", "", "PEM client certificate, for mutual TLS")
	fs.StringVar(&r.Key, "redis-key", "", "PEM key of -redis-cert")
	return r
}

// Connect returns a hydrakit client on the Redis at r.URL (any form redisurl takes) or, when it is
// empty, on a new embedded Redis; the URL it connected to (naming DB 0 for the embedded one, since Node
// Hydra falls back to DB 15 without one); and a func that closes both clients and stops the embedded
// Redis, if any.
func (r Redis) Connect(options ...hydrakit.Option) (*hydrakit.Client, string, func(), error) {
	url, stop := r.URL, func() {}
	if url == "" {
		srv, err := StartAt(r.Listen)
		if err != nil {
			return nil, "", nil, err
		}
		url, stop = srv.URL()+"/0", srv.Close
	}
	rdb, err := redisurl.NewClient(url, redisurl.CAFile(r.CA), redisurl.ClientCert(r.Cert, r.Key))
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	client, err := hydrakit.NewClient(rdb, options...)
	if err != nil {
		_ = rdb.Close()
		stop()
		return nil, "", nil, err
	}
	return client, url, func() { _ = client.Close(); _ = rdb.Close(); stop() }, nil
}

// Connect is Redis{URL: url}.Connect.
func Connect(url string, options ...hydrakit.Option) (*hydrakit.Client, string, func(), error) {
	return Redis{URL: url}.Connect(options...)
}
