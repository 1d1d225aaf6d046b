package embedded

import (
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
)

// tick is how often TTLs are aged: presence keys live 3 s, so 50 ms keeps expiry within 2% of real time.
const tick = 50 * time.Millisecond

// Server is a miniredis listening on a loopback port, with real-time key expiry.
type Server struct {
	*miniredis.Miniredis
	stop chan struct{}
	done sync.WaitGroup
}

// Start starts the server; Close stops it.
func Start() (*Server, error) {
	m, err := miniredis.Run()
	if err != nil {
		return nil, err
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

// Connect returns a client on the Redis at url or, when url is empty, on a new embedded Redis; the
// URL it connected to (naming DB 0, since Node Hydra falls back to DB 15 without one); and a func that
// closes the client and stops the embedded Redis, if any.
func Connect(url string) (*goredis.Client, string, func(), error) {
	stop := func() {}
	if url == "" {
		srv, err := Start()
		if err != nil {
			return nil, "", nil, err
		}
		url, stop = srv.URL()+"/0", srv.Close
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	client := goredis.NewClient(opts)
	return client, url, func() { _ = client.Close(); stop() }, nil
}
