package redis

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hydrakit/hydrakit/keyspace"
)

// Service describes the instance a Registrar registers. Name is required; the rest have defaults,
// those Node Hydra's init chooses. IP is kept as given (an address or a DNS name), except that a
// pattern such as "10.0.*" takes the first IPv4 address of this host that starts with the text
// before the '*' (NewRegistrar fails when none does), and an empty IP takes the first IPv4 address
// other than 127.0.0.1 of the host's interfaces that are up (it stays empty if there is none).
type Service struct {
	Name        string // service name, lower-cased as Node does
	ID          string // instance ID; default keyspace.NewInstanceID()
	IP          string // address callers reach (written as "ip"); default this host's, see above
	Port        int    // port callers reach; 0 for an instance that serves no HTTP
	Version     string // default the main module's version (build info), else "unspecified", as Node
	Description string // default "not specified", as Node
	Type        string // "type" of the :service record; omitted when empty
	HostName    string // default os.Hostname()
}

// withDefaults validates s and fills in what Node's init would. Errors wrap ErrConfig (and
// keyspace.ErrInvalidName for an invalid name or ID).
func (s Service) withDefaults() (Service, error) {
	name, err := keyspace.ValidateService(s.Name)
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.Name = name
	if s.ID == "" {
		s.ID = keyspace.NewInstanceID()
	}
	if err := keyspace.ValidateInstance(s.ID); err != nil {
		return s, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if s.Description == "" {
		s.Description = "not specified"
	}
	if s.HostName == "" {
		s.HostName, _ = os.Hostname()
	}
	if s.IP == "" || strings.Contains(s.IP, "*") {
		addrs, listErr := hostAddrs() // a host whose addresses cannot be listed has none to offer
		if s.IP, err = chooseIP(s.IP, addrs); err != nil {
			if listErr != nil {
				err = fmt.Errorf("%w (%w)", err, listErr)
			}
			return s, err
		}
	}
	if s.Version == "" {
		s.Version = defaultVersion(debug.ReadBuildInfo())
	}
	return s, nil
}

// hostAddrs lists the addresses of the host's interfaces that are up and running, in the host's
// order: what Node's os.networkInterfaces() lists (libuv leaves out the others).
func hostAddrs() ([]netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagRunning == 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, ip.Unmap())
				}
			}
		}
	}
	return out, nil
}

// chooseIP is the ip Node's init writes for a configured serviceIP, given the host's addresses (see
// Service.IP).
func chooseIP(configured string, addrs []netip.Addr) (string, error) {
	prefix, _, pattern := strings.Cut(configured, "*") // Node matches the text before the first '*'
	for _, a := range addrs {
		if !a.Is4() {
			continue
		}
		s := a.String()
		switch {
		case pattern && strings.HasPrefix(s, prefix):
			return s, nil
		case !pattern && configured == "" && s != "127.0.0.1":
			return s, nil
		}
	}
	if pattern {
		return "", fmt.Errorf("%w: no IPv4 address of this host matches %q", ErrConfig, configured)
	}
	return configured, nil
}

// defaultVersion is the version of a service that sets none: its main module's, as Node takes its
// package.json's, or Node's "unspecified" when the binary carries none (go run, go test, a build
// outside version control).
func defaultVersion(info *debug.BuildInfo, ok bool) string {
	if ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "unspecified"
}
