package dashboard

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// nodeEntry is a hydra:service:nodes entry, as Node Hydra and sd/redis write it.
type nodeEntry struct {
	ServiceName        string  `json:"serviceName"`
	ServiceDescription string  `json:"serviceDescription"`
	Version            string  `json:"version"`
	InstanceID         string  `json:"instanceID"`
	UpdatedOn          string  `json:"updatedOn"`
	ProcessID          flexInt `json:"processID"`
	IP                 string  `json:"ip"`
	Port               flexInt `json:"port"`
	HostName           string  `json:"hostName"`
}

// flexInt reads a JSON number or a numeric string: Node writes "port":"5000" when it was configured
// as a string. Anything else reads as 0: a tile shows what it can.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseFloat(string(bytes.Trim(b, `"`)), 64)
	if err == nil {
		*f = flexInt(n)
	}
	return nil
}

// parseNodes turns the nodes hash into instances by ID, skipping malformed entries and entries filed
// under another ID than their own. It returns how many it skipped.
func parseNodes(hash map[string]string) (map[string]Instance, int) {
	out := make(map[string]Instance, len(hash))
	skipped := 0
	for id, raw := range hash {
		var e nodeEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil || e.InstanceID != id || e.ServiceName == "" {
			skipped++
			continue
		}
		updated, _ := time.Parse(time.RFC3339Nano, e.UpdatedOn)
		out[id] = Instance{
			Service: e.ServiceName, ID: id, Description: e.ServiceDescription, Host: e.HostName,
			IP: e.IP, Port: int(e.Port), Version: e.Version, ProcessID: int(e.ProcessID), UpdatedOn: updated,
		}
	}
	return out, skipped
}

// healthDoc is the part of a health key (health.Snapshot, or Node Hydra's) that a tile shows.
type healthDoc struct {
	SampledOn string `json:"sampledOn"`
	Memory    struct {
		RSS      uint64 `json:"rss"`
		HeapUsed uint64 `json:"heapUsed"`
	} `json:"memory"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	Status        string  `json:"status"`
}

// parseHealth reads a health key; a value that does not parse (or was cut at maxHealth) is shown as
// unreadable rather than hidden.
func parseHealth(raw string) *Health {
	var d healthDoc
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return &Health{Unreadable: true}
	}
	sampled, _ := time.Parse(time.RFC3339Nano, d.SampledOn)
	return &Health{
		Status: d.Status, RSS: d.Memory.RSS, HeapUsed: d.Memory.HeapUsed,
		UptimeSeconds: d.UptimeSeconds, SampledOn: sampled,
	}
}
