package dashboard

import (
	"errors"
	"net/http"

	"github.com/hydrakit/hydrakit"
)

// ErrConfig is returned by New for an invalid argument or option.
var ErrConfig = errors.New("dashboard: invalid configuration")

// Traffic is a service's cumulative request and error counts at this router; the dashboard turns
// them into rates.
type Traffic struct {
	Service  string
	Requests uint64
	Errors   uint64
}

// Dashboard serves the page, its assets and its event stream. STUB: being built (issue 15).
type Dashboard struct{}

// DashboardOption configures a Dashboard.
type DashboardOption func(*config)

type config struct {
	instanceID, version string
	traffic             func() []Traffic
	clients             func() []string
}

// DashboardRouter names the router the page is served by, for its header line.
func DashboardRouter(instanceID, version string) DashboardOption {
	return func(c *config) { c.instanceID, c.version = instanceID, version }
}

// DashboardTraffic gives the dashboard this router's per-service counts.
func DashboardTraffic(f func() []Traffic) DashboardOption { return func(c *config) { c.traffic = f } }

// DashboardClients gives the dashboard this router's connected WebSocket clients.
func DashboardClients(f func() []string) DashboardOption { return func(c *config) { c.clients = f } }

// New returns a Dashboard reading the fleet through client.
func New(client *hydrakit.Client, options ...DashboardOption) (*Dashboard, error) {
	if client == nil {
		return nil, ErrConfig
	}
	return &Dashboard{}, nil
}

// ServeHTTP serves "/" (the page), its assets and its event stream.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "dashboard not built yet", http.StatusNotImplemented)
}

// Close ends every event stream and stops the dashboard.
func (d *Dashboard) Close() error { return nil }
