package redis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"time"
)

// timeLayout is Node's Date.toISOString(): UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Instance is one live instance of a service, as its nodes-hash entry describes it.
type Instance struct {
	ID          string    // instanceID
	Service     string    // serviceName
	Description string    // serviceDescription
	Version     string    // version
	IP          string    // ip: where the instance listens (an address or a DNS name)
	Port        int       // port: Node writes a number or a string; 0 when absent
	HostName    string    // hostName
	ProcessID   int       // processID
	UpdatedOn   time.Time // updatedOn: the instance's clock at its last refresh; zero when unparseable
}

// Addr is the instance's host:port, the instance string go-kit HTTP and gRPC factories expect.
func (i Instance) Addr() string { return net.JoinHostPort(i.IP, strconv.Itoa(i.Port)) }

// nodeEntry is a nodes-hash entry with Node's field names, in Node's order (JSON.stringify keeps the
// object's insertion order, and so do we, so both write identical bytes for identical values).
type nodeEntry struct {
	ServiceName        string      `json:"serviceName"`
	ServiceDescription string      `json:"serviceDescription"`
	Version            string      `json:"version"`
	InstanceID         string      `json:"instanceID"`
	UpdatedOn          string      `json:"updatedOn"`
	ProcessID          flexibleInt `json:"processID"`
	IP                 string      `json:"ip"`
	Port               flexibleInt `json:"port"`
	HostName           string      `json:"hostName"`
}

// flexibleInt reads a JSON number or a numeric string (Node writes "port":"5000" when the port was
// configured as a string) and writes a number.
type flexibleInt int

func (f *flexibleInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		b = []byte(s)
	}
	n, err := strconv.ParseFloat(string(b), 64)
	if err != nil || n != float64(int(n)) {
		return fmt.Errorf("not an integer: %s", b)
	}
	*f = flexibleInt(n)
	return nil
}

// parseEntry parses a nodes-hash entry, written by Node Hydra or by a Registrar. Unknown fields are
// ignored; instanceID and serviceName are required, since Node needs them too.
func parseEntry(raw []byte) (Instance, error) {
	var e nodeEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return Instance{}, fmt.Errorf("%w: %w", ErrMalformedEntry, err)
	}
	if e.InstanceID == "" || e.ServiceName == "" {
		return Instance{}, fmt.Errorf("%w: missing instanceID or serviceName", ErrMalformedEntry)
	}
	updated, _ := time.Parse(time.RFC3339Nano, e.UpdatedOn)
	return Instance{
		ID:          e.InstanceID,
		Service:     e.ServiceName,
		Description: e.ServiceDescription,
		Version:     e.Version,
		IP:          e.IP,
		Port:        int(e.Port),
		HostName:    e.HostName,
		ProcessID:   int(e.ProcessID),
		UpdatedOn:   updated,
	}, nil
}

// belongsTo reports cheaply, before any parsing, whether a nodes-hash value may be an entry of service:
// the fleet-wide hash is scanned often and most of it belongs to other services.
func belongsTo(raw []byte, service string) bool {
	return bytes.Contains(raw, []byte(service))
}
