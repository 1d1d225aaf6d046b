package dashboard

import (
	"time"

	"github.com/go-kit/log"
)

// Defaults and bounds. Every read the dashboard makes is bounded by these, whatever the fleet holds.
const (
	// DefaultInterval is how often the nodes hash, health keys, routes and queue lengths are read, and
	// request rates computed.
	DefaultInterval = time.Second
	// DefaultResync is how often the presence of the instances shown is checked (one EXISTS per
	// followed service): it bounds how late a crashed instance turns red after its presence key expired.
	DefaultResync = 250 * time.Millisecond
	// DefaultMaxServices is how many services are followed (the first by name); the rest are counted,
	// not shown.
	DefaultMaxServices = 64
	// DefaultMaxStreams is how many browsers may follow the event stream at once; more get 503.
	DefaultMaxStreams = 32
	// DefaultWriteTimeout is how long one event may take to reach a browser before it is dropped.
	DefaultWriteTimeout = 10 * time.Second

	// MaxTiles is the most instances shown: live ones first, then the most recently seen dead ones.
	MaxTiles = 1000
	// MaxRoutes is the most routes shown per service (the total is shown too).
	MaxRoutes = 100
	// MaxClients is the most WebSocket client IDs shown (the total is shown too).
	MaxClients = 100
	// maxHealth is the most bytes of a health key read (GETRANGE): a larger one shows as unreadable.
	maxHealth = 64 << 10
	// streamBuffer is how many events may wait for one browser; one more and it is dropped.
	streamBuffer = 4
)

// DashboardOption configures a Dashboard.
type DashboardOption func(*config)

type config struct {
	instanceID, version string
	host                string
	traffic             func() []Traffic
	clients             func() []string
	interval, resync    time.Duration
	writeTimeout        time.Duration
	maxServices         int
	maxStreams          int
	logger              log.Logger
}

// DashboardRouter names the router the page is served by, for its header line.
func DashboardRouter(instanceID, version string) DashboardOption {
	return func(c *config) { c.instanceID, c.version = instanceID, version }
}

// DashboardTraffic gives the dashboard this router's cumulative per-service counts; it is called once
// per interval and must not block.
func DashboardTraffic(f func() []Traffic) DashboardOption { return func(c *config) { c.traffic = f } }

// DashboardClients gives the dashboard this router's connected WebSocket clients; it is called once
// per interval and must not block.
func DashboardClients(f func() []string) DashboardOption { return func(c *config) { c.clients = f } }

// DashboardInterval sets how often the fleet's records are read and rates computed (default 1 s).
func DashboardInterval(d time.Duration) DashboardOption { return func(c *config) { c.interval = d } }

// DashboardResync sets how often presence is checked (default 250 ms). A crashed instance turns red at
// most this long after its presence key expired, plus the time to reach the browser.
func DashboardResync(d time.Duration) DashboardOption { return func(c *config) { c.resync = d } }

// DashboardMaxServices sets how many services are followed (default 64, the first by name).
func DashboardMaxServices(n int) DashboardOption { return func(c *config) { c.maxServices = n } }

// DashboardMaxStreams sets how many event streams may be open at once (default 32).
func DashboardMaxStreams(n int) DashboardOption { return func(c *config) { c.maxStreams = n } }

// DashboardWriteTimeout sets how long one event may take to reach a browser (default 10 s); a browser
// slower than that, or more than a few events behind, is dropped and reconnects by itself.
func DashboardWriteTimeout(d time.Duration) DashboardOption {
	return func(c *config) { c.writeTimeout = d }
}

// DashboardLogger sets the logger for Redis read failures (default the client's); lines are rate
// limited.
func DashboardLogger(logger log.Logger) DashboardOption { return func(c *config) { c.logger = logger } }
