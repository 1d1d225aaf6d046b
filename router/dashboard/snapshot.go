package dashboard

import "time"

// Snapshot is what the page draws: the whole fleet as this router sees it, sent as one event.
type Snapshot struct {
	Router    RouterInfo `json:"router"`
	At        time.Time  `json:"at"`              // when it was built, by the router's clock
	Error     string     `json:"error,omitempty"` // the last failed read, while reads fail
	Services  []Service  `json:"services"`
	Instances []Instance `json:"instances"` // live first, then dead; by service, then ID
	// Unfollowed counts the services past the cap, and Hidden the tiles past MaxTiles.
	Unfollowed int     `json:"unfollowed"`
	Hidden     int     `json:"hidden"`
	Clients    Clients `json:"clients"`
}

// RouterInfo is the header line: the router serving the page.
type RouterInfo struct {
	InstanceID string `json:"instanceID"`
	Version    string `json:"version"`
	Host       string `json:"host"`
}

// Service is one followed service.
type Service struct {
	Name        string   `json:"name"`
	Live        int      `json:"live"`
	Routes      []string `json:"routes"`
	RoutesTotal int      `json:"routesTotal"`
	Queue       Queue    `json:"queue"`
	Requests    uint64   `json:"requests"` // cumulative, at this router
	Errors      uint64   `json:"errors"`
	RequestRate float64  `json:"requestRate"` // per second, over the last interval
	ErrorRate   float64  `json:"errorRate"`
}

// Queue is a service's queue depths.
type Queue struct {
	Received    int64 `json:"received"`
	InProgress  int64 `json:"inProgress"`
	DeadLetters int64 `json:"deadLetters"`
}

// Instance is one tile.
type Instance struct {
	Service     string    `json:"service"`
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Host        string    `json:"host"`
	IP          string    `json:"ip"`
	Port        int       `json:"port"`
	Version     string    `json:"version"`
	ProcessID   int       `json:"processID"`
	UpdatedOn   time.Time `json:"updatedOn"` // the instance's last nodes-entry refresh, by its clock
	Live        bool      `json:"live"`      // its presence key exists
	Health      *Health   `json:"health,omitempty"`
}

// Health is what a tile shows from the instance's health key.
type Health struct {
	Status        string    `json:"status"` // ok, degraded, failing; empty from Node Hydra, which has none
	RSS           uint64    `json:"rss"`
	HeapUsed      uint64    `json:"heapUsed"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
	SampledOn     time.Time `json:"sampledOn"` // when uptime was taken; the page counts on from it
	Unreadable    bool      `json:"unreadable,omitempty"`
}

// Clients are this router's WebSocket clients.
type Clients struct {
	Total int      `json:"total"`
	IDs   []string `json:"ids"`
}
