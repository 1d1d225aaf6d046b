package redisurl

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		single string // Addr of a single client
		seeds  []string
		sents  []string
		master string
		user   string
		pass   string
		db     int
		tls    bool
	}{
		{addr: "redis://127.0.0.1:6379", single: "127.0.0.1:6379"},
		{addr: "REDIS://h", single: "h:6379"},
		{addr: "redis://u:p%40ss@h:1/2", single: "h:1", user: "u", pass: "p@ss", db: 2},
		{addr: "redis://u:p@ss/w@rd@h:1/3", single: "h:1", user: "u", pass: "p@ss/w@rd", db: 3},
		{addr: "redis://:only-pass@h:1", single: "h:1", pass: "only-pass"},
		{addr: "redis://[::1]:7000", single: "[::1]:7000"},
		{addr: "rediss://h:6380", single: "h:6380", tls: true},
		{addr: "redis+cluster://a:1,b:2", seeds: []string{"a:1", "b:2"}},
		{addr: "redis+cluster://a:1", seeds: []string{"a:1"}},
		{addr: "rediss+cluster://u:p@a:1,[::1]:2/", seeds: []string{"a:1", "[::1]:2"}, user: "u", pass: "p", tls: true},
		{addr: "redis+cluster://a:1,b:2/0", seeds: []string{"a:1", "b:2"}},
		{addr: "a:1,b:2,c:3", seeds: []string{"a:1", "b:2", "c:3"}},
		{addr: "a,b", seeds: []string{"a:6379", "b:6379"}},
		{addr: "redis+sentinel://s1:26380,s2/mymaster", sents: []string{"s1:26380", "s2:26379"}, master: "mymaster"},
		{addr: "rediss+sentinel://u:p%25@s1:1/m/5", sents: []string{"s1:1"}, master: "m", user: "u", pass: "p%", db: 5, tls: true},
	} {
		p, err := parse(tc.addr, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		var addr, master, user, pass string
		var seeds, sents []string
		var db int
		var tlsc *tls.Config
		switch {
		case p.single != nil:
			addr, user, pass, db, tlsc = p.single.Addr, p.single.Username, p.single.Password, p.single.DB, p.single.TLSConfig
		case p.cluster != nil:
			seeds, user, pass, tlsc = p.cluster.Addrs, p.cluster.Username, p.cluster.Password, p.cluster.TLSConfig
		default:
			f := p.failover
			sents, master, user, pass, db, tlsc = f.SentinelAddrs, f.MasterName, f.Username, f.Password, f.DB, f.TLSConfig
		}
		if addr != tc.single || !reflect.DeepEqual(seeds, tc.seeds) || !reflect.DeepEqual(sents, tc.sents) ||
			master != tc.master || user != tc.user || pass != tc.pass || db != tc.db || (tlsc != nil) != tc.tls {
			t.Errorf("%s: have addr %q seeds %q sentinels %q master %q user %q password %q db %d TLS %v",
				tc.addr, addr, seeds, sents, master, user, pass, db, tlsc != nil)
		}
		if tlsc != nil && tlsc.MinVersion != tls.VersionTLS12 {
			t.Errorf("%s: want TLS 1.2 at least, have %x", tc.addr, tlsc.MinVersion)
		}
	}
}

func TestParseQueryOptions(t *testing.T) {
	p, err := parse("redis://h:1?dial_timeout=3&pool_size=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.single.DialTimeout != 3*time.Second || p.single.PoolSize != 7 {
		t.Errorf("want dial_timeout and pool_size read, have %v and %d", p.single.DialTimeout, p.single.PoolSize)
	}
	p, err = parse("redis://u:p?w@h:1?client_name=a%40b", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.single.Password != "p?w" || p.single.ClientName != "a@b" || p.single.Addr != "h:1" {
		t.Errorf("want password p?w, client name a@b at h:1, have %q, %q at %s", p.single.Password, p.single.ClientName, p.single.Addr)
	}
	p, err = parse("rediss://redis.internal:6380", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "redis.internal", p.single.TLSConfig.ServerName; want != have {
		t.Errorf("want server name %q, have %q", want, have)
	}
}

func TestParseInvalid(t *testing.T) {
	for addr, want := range map[string]string{
		"":                                "empty address",
		"127.0.0.1:6379":                  "has no scheme",
		"u:p@a:1,b:2":                     "cannot carry credentials",
		"a:1,,b:2":                        "cluster seed 2 (\"\"): no host",
		"a:1,a:1":                         "cluster seed a:1 listed twice",
		"a:1,a":                           "", // a:6379 differs from a:1
		"a:x,b:1":                         "invalid port \"x\"",
		"a:0,b:1":                         "invalid port \"0\"",
		"a:65536,b:1":                     "invalid port \"65536\"",
		"a:+1,b:1":                        "invalid port \"+1\"",
		"::1,b:1":                         "write IPv6 addresses in brackets",
		"[::1,b:1":                        "no closing ]",
		"[127.0.0.1]:1,b:2":               "brackets are only for IPv6",
		"[::1]x,b:2":                      "want [ipv6]:port",
		"a b:1,c:2":                       "invalid character ' ' in host",
		"unix:///tmp/redis.sock":          "unknown scheme \"unix\"",
		"http://h":                        "unknown scheme \"http\"",
		"redis://":                        "has no host",
		"redis:///0":                      "has no host",
		"redis://h:1?bogus=1":             "unexpected option: bogus",
		"redis://h:1/x":                   "invalid database number",
		"redis://h:x":                     "invalid port",
		"redis+cluster://a:1/1":           "a cluster has only database 0",
		"redis+cluster://a:1?x=1":         "takes no query options",
		"redis+cluster://a:1#f":           "takes no query options",
		"redis+cluster://":                "cluster seed 1 (\"\"): no host",
		"redis+sentinel://s:1":            "needs the master name",
		"redis+sentinel://s:1/":           "needs the master name",
		"redis+sentinel://s:1/m/x":        "database \"x\"",
		"redis+sentinel://s:1/m/-1":       "database \"-1\"",
		"redis+sentinel://s:1/m/0/1":      "want /master or /master/db",
		"redis+sentinel://s:1,s:1/m":      "sentinel s:1 listed twice",
		"redis+sentinel://u:%zz@s:1/m":    "password: invalid percent-encoding",
		"redis+sentinel://%zz:p@s:1/m":    "user name: invalid percent-encoding",
		"redis+sentinel://s:1/m\x01":      "no spaces or control characters",
		"redis+whatever://a:1":            "unknown scheme",
		"rediss+sentinel://s:1/m?skip=1":  "takes no query options",
		"redis+sentinel://[::1]:1/m/0?db": "takes no query options",
	} {
		_, err := parse(addr, nil)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", addr, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want an ErrConfig saying %q, have %v", addr, want, err)
		}
	}
}

func TestOptionsInvalid(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr    string
		options []Option
		want    string
	}{
		{"redis://h:1", []Option{CAFile("ca.pem")}, "TLS files need a TLS address"},
		{"a:1,b:2", []Option{ClientCert("c.pem", "k.pem")}, "TLS files need a TLS address"},
		{"redis+sentinel://s:1/m", []Option{CAFile("ca.pem")}, "TLS files need a TLS address"},
		{"rediss://h:1", []Option{ClientCert("c.pem", "")}, "needs both its certificate file and its key file"},
		{"rediss://h:1", []Option{ClientCert("", "k.pem")}, "needs both"},
		{"rediss://h:1", []Option{CAFile(filepath.Join(dir, "missing.pem"))}, "CA file: open"},
		{"rediss+cluster://h:1", []Option{CAFile(notPEM)}, "no PEM certificate"},
		{"rediss+sentinel://h:1/m", []Option{ClientCert(notPEM, notPEM)}, "client certificate"},
		{"redis://h:1", []Option{SentinelAuth("", "pw")}, "sentinel credentials need a redis+sentinel://"},
	} {
		_, err := parse(tc.addr, tc.options)
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: want an ErrConfig saying %q, have %v", tc.addr, tc.want, err)
		}
	}
	for _, empty := range []Option{CAFile(""), ClientCert("", "")} { // a flag's empty default
		if _, err := parse("redis://h:1", []Option{empty}); err != nil {
			t.Errorf("empty TLS file options: want no error, have %v", err)
		}
	}
	p, err := parse("redis+sentinel://u:p@s:1/m", []Option{SentinelAuth("sentinel-user", "sentinel-pw")})
	if err != nil {
		t.Fatal(err)
	}
	if f := p.failover; f.SentinelUsername != "sentinel-user" || f.SentinelPassword != "sentinel-pw" || f.Password != "p" {
		t.Errorf("want sentinel and data node credentials apart, have %+v", f)
	}
}

// TestErrorsNeverRepeatPasswords tries malformed strings around a password, which no error may repeat
// (nor any part of it longer than 3 characters).
func TestErrorsNeverRepeatPasswords(t *testing.T) {
	const pw = "hunter2secret"
	for _, addr := range []string{
		"redis://u:" + pw + "@h:x",
		"redis://u:" + pw + "@h:1/notadb",
		"redis://u:" + pw + "@h:1?bogus=" + pw,
		"redis://u:" + pw + "@",
		"redis://u:hunter2/secret@h:x",
		"redis://u:hunter2?secret@h:x",
		"redis://u:hunter2%zzsecret@h:1",
		"rediss://u:" + pw + "@[::1:1",
		"redis+cluster://u:" + pw + "@a:1/5",
		"redis+cluster://u:" + pw + "@a:x",
		"redis+sentinel://u:" + pw + "@s:1",
		"redis+sentinel://u:" + pw + "@s:1/m/x",
		"redis+sentinel://u:hunter2/secret@s:x/m",
		"u:" + pw + "@a:1,b:2",
		"redis:/u:" + pw + "@h:1",
		"ftp://u:" + pw + "@h",
	} {
		_, err := parse(addr, []Option{CAFile("/nonexistent/ca.pem")})
		if err == nil {
			t.Errorf("%q: want an error", addr)
			continue
		}
		for _, part := range []string{"hunt", "unte", "nter", "ter2", "secr", "ecre", "cret"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("%q: the error repeats part of the password: %v", addr, err)
				break
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"redis://u:p@h:1/2?dial_timeout=3", "rediss://h", "a:1,b:2", "redis+cluster://u:p@[::1]:1,a:2/",
		"redis+sentinel://u:p@s1:1,s2/m/3", "rediss+sentinel://s:1/m", "[::1]:1,[::2]", "redis://u:p@ss/w@rd@h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parse(s, nil)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("%q: error does not wrap ErrConfig: %v", s, err)
			}
			// The password: after the scheme, between the first ":" and the last "@".
			if _, rest, ok := strings.Cut(s, "://"); ok {
				if at := strings.LastIndexByte(rest, '@'); at >= 0 {
					if _, pw, ok := strings.Cut(rest[:at], ":"); ok && len(pw) >= 6 &&
						!strings.Contains(rest[at:], pw) && strings.Contains(err.Error(), pw) {
						t.Fatalf("%q: the error repeats the password: %v", s, err)
					}
				}
			}
			return
		}
		n := 0
		for _, set := range []bool{p.single != nil, p.cluster != nil, p.failover != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%q: %d shapes", s, n)
		}
	})
}
