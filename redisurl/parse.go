package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// parseAddr reads the string; secure says it names a TLS form.
func parseAddr(addr string) (*parsed, bool, error) {
	if addr == "" {
		return nil, false, errorf("empty address: %s", forms)
	}
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		return bareSeeds(addr)
	}
	user, password, hostPart, err := splitUser(rest)
	if err != nil {
		return nil, false, err
	}
	scheme = strings.ToLower(scheme)
	secure := strings.HasPrefix(scheme, "rediss")
	switch scheme {
	case "redis", "rediss":
		if i := strings.IndexAny(hostPart, "/?#"); i == 0 || hostPart == "" {
			return nil, false, errorf("%s:// URL has no host", scheme)
		}
		// go-redis reads the rest; it never sees the password, so its errors cannot repeat it.
		opts, err := goredis.ParseURL(scheme + "://" + hostPart)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return nil, false, errorf("%s:// URL: %v", scheme, err)
		}
		opts.Username, opts.Password = user, password
		return &parsed{single: opts}, secure, nil
	case "redis+cluster", "rediss+cluster":
		hosts, path, err := splitPath(scheme, hostPart)
		if err != nil {
			return nil, false, err
		}
		if path != "" && path != "/" && path != "/0" {
			return nil, false, errorf("%s:// path %q: a cluster has only database 0", scheme, path)
		}
		seeds, err := hostList(hosts, "6379", "cluster seed")
		if err != nil {
			return nil, false, err
		}
		return &parsed{cluster: &goredis.ClusterOptions{Addrs: seeds, Username: user, Password: password}}, secure, nil
	case "redis+sentinel", "rediss+sentinel":
		hosts, path, err := splitPath(scheme, hostPart)
		if err != nil {
			return nil, false, err
		}
		sentinels, err := hostList(hosts, "26379", "sentinel")
		if err != nil {
			return nil, false, err
		}
		master, db, err := masterDB(scheme, path)
		if err != nil {
			return nil, false, err
		}
		return &parsed{failover: &goredis.FailoverOptions{
			MasterName: master, SentinelAddrs: sentinels, DB: db, Username: user, Password: password,
		}}, secure, nil
	default:
		return nil, false, errorf("unknown scheme %q: %s", scheme, forms)
	}
}

// bareSeeds reads a scheme-less list of cluster seeds.
func bareSeeds(addr string) (*parsed, bool, error) {
	if strings.Contains(addr, "@") {
		return nil, false, errorf("an address without a scheme cannot carry credentials: " +
			"write redis+cluster://user:password@host:port,host:port")
	}
	entries := strings.Split(addr, ",")
	if len(entries) < 2 {
		return nil, false, errorf("%q has no scheme: write redis://%s for one server or redis+cluster://%s "+
			"for a cluster with one seed", addr, addr, addr)
	}
	seeds, err := hostList(entries, "6379", "cluster seed")
	if err != nil {
		return nil, false, err
	}
	return &parsed{cluster: &goredis.ClusterOptions{Addrs: seeds}}, false, nil
}

// splitUser splits "[user[:password]@]rest" at the last "@", and percent-decodes user and password.
func splitUser(s string) (user, password, rest string, err error) {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", "", s, nil
	}
	userinfo, rest := s[:at], s[at+1:]
	rawUser, rawPassword, _ := strings.Cut(userinfo, ":")
	if user, err = url.PathUnescape(rawUser); err != nil {
		return "", "", "", errorf("user name: invalid percent-encoding")
	}
	if password, err = url.PathUnescape(rawPassword); err != nil {
		return "", "", "", errorf("password: invalid percent-encoding (write %% as %%25)")
	}
	return user, password, rest, nil
}

// splitPath splits "host:port,host:port[/path]" of the + forms, which take no query or fragment.
func splitPath(scheme, s string) (hosts []string, path string, err error) {
	if strings.ContainsAny(s, "?#") {
		return nil, "", errorf("%s:// takes no query options or fragment (only redis:// and rediss:// do)", scheme)
	}
	list, path, _ := strings.Cut(s, "/")
	if path != "" || strings.HasSuffix(s, "/") {
		path = "/" + path
	}
	return strings.Split(list, ","), path, nil
}

// hostList validates host[:port] entries, filling in defPort, and refuses duplicates.
func hostList(entries []string, defPort, what string) ([]string, error) {
	addrs := make([]string, 0, len(entries))
	for i, e := range entries {
		a, err := hostPort(e, defPort)
		if err != nil {
			return nil, errorf("%s %d (%q): %v", what, i+1, e, err)
		}
		for _, b := range addrs {
			if a == b {
				return nil, errorf("%s %s listed twice", what, a)
			}
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// hostPort validates host, host:port, [ipv6] or [ipv6]:port and returns host:port.
func hostPort(e, defPort string) (string, error) {
	host, port := e, defPort
	if strings.HasPrefix(e, "[") {
		end := strings.IndexByte(e, ']')
		if end < 0 {
			return "", errors.New("no closing ] after an IPv6 address")
		}
		host = e[1:end]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", errors.New("brackets are only for IPv6 addresses")
		}
		switch after := e[end+1:]; {
		case after == "":
		case after[0] == ':':
			port = after[1:]
		default:
			return "", errors.New("want [ipv6]:port")
		}
	} else {
		switch strings.Count(e, ":") {
		case 0:
		case 1:
			host, port, _ = strings.Cut(e, ":")
		default:
			return "", errors.New("write IPv6 addresses in brackets: [::1]:6379")
		}
		if host == "" {
			return "", errors.New("no host")
		}
		for _, r := range host {
			if !(r == '-' || r == '.' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
				return "", fmt.Errorf("invalid character %q in host", r)
			}
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.ContainsAny(port, "+-") {
		return "", fmt.Errorf("invalid port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}

// masterDB reads the "/master[/db]" path of the sentinel form.
func masterDB(scheme, path string) (string, int, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if path == "" || parts[0] == "" {
		return "", 0, errorf("%s:// needs the master name: %s://host:port/mymaster", scheme, scheme)
	}
	if len(parts) > 2 {
		return "", 0, errorf("%s:// path %q: want /master or /master/db", scheme, path)
	}
	if strings.ContainsFunc(parts[0], func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", 0, errorf("%s:// master name %q: no spaces or control characters", scheme, parts[0])
	}
	if len(parts) == 1 {
		return parts[0], 0, nil
	}
	db, err := strconv.Atoi(parts[1])
	if err != nil || db < 0 || strings.ContainsAny(parts[1], "+-") {
		return "", 0, errorf("%s:// database %q: want a number, 0 or more", scheme, parts[1])
	}
	return parts[0], db, nil
}
