package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/redisurl"
)

// DefaultURL is the Redis used when nothing names one.
const DefaultURL = "redis://127.0.0.1:6379/0"

// target is where the command line says Redis is.
type target struct {
	url, ca, cert, key string
	passwordFile       string
	profile            string
}

// conn is an open connection: the go-redis client the command made, and the fleet client over it.
type conn struct {
	rdb    goredis.UniversalClient
	client *hydrakit.Client
	url    string // with no password in it
}

func (c *conn) close() {
	_ = c.client.Close()
	_ = c.rdb.Close()
}

// resolved is a target with the profile and the environment applied.
type resolved struct {
	url, ca, cert, key string
	password           string // "" when none is configured outside the URL
	source             string // where the URL came from, for error messages
}

func (a *app) resolve() (resolved, error) {
	t := a.target
	r := resolved{url: t.url, ca: t.ca, cert: t.cert, key: t.key, source: "--redis"}
	var prof *Profile
	if r.url == "" {
		if r.url = a.env.Getenv("HYDRAKIT_REDIS_URL"); r.url != "" {
			r.source = "$HYDRAKIT_REDIS_URL"
		}
	}
	if r.url == "" || t.profile != "" {
		p, name, err := a.profiles().selected(t.profile, a.env.Getenv("HYDRAKIT_PROFILE"))
		if err != nil {
			return r, err
		}
		if p != nil {
			prof = p
			if t.url == "" { // --redis beats an explicit --profile's URL
				r.url, r.source = p.Redis, "profile "+name
			}
			r.ca, r.cert, r.key = or(r.ca, p.CA), or(r.cert, p.Cert), or(r.key, p.Key)
		}
	}
	if r.url == "" {
		r.url, r.source = DefaultURL, "the default"
	}
	pw, err := a.password(prof)
	if err != nil {
		return r, err
	}
	r.password = pw
	return r, nil
}

// password reads the password from $HYDRAKIT_REDIS_PASSWORD, else --redis-password-file, else the
// profile's variable or file.
func (a *app) password(p *Profile) (string, error) {
	if pw := a.env.Getenv("HYDRAKIT_REDIS_PASSWORD"); pw != "" {
		return pw, nil
	}
	file := a.target.passwordFile
	if file == "" && p != nil {
		if p.PasswordEnv != "" {
			if pw := a.env.Getenv(p.PasswordEnv); pw != "" {
				return pw, nil
			}
			return "", fmt.Errorf("the profile reads its password from $%s, which is empty", p.PasswordEnv)
		}
		file = p.PasswordFile
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// withPassword puts password into raw unless raw carries one of its own (its user is kept). Bare
// cluster seeds become a redis+cluster:// URL, the form that takes credentials.
func withPassword(raw, password string) string {
	if password == "" {
		return raw
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "redis+cluster", raw
	}
	enc := strings.TrimPrefix(url.UserPassword("", password).String(), ":")
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return scheme + "://:" + enc + "@" + rest
	}
	if strings.Contains(rest[:at], ":") {
		return raw
	}
	return scheme + "://" + rest[:at] + ":" + enc + rest[at:]
}

// redact hides the password of a Redis URL, for printing.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

func (a *app) connect(ctx context.Context) (*conn, error) {
	r, err := a.resolve()
	if err != nil {
		return nil, err
	}
	full := withPassword(r.url, r.password)
	rdb, err := redisurl.NewClient(full, redisurl.CAFile(r.ca), redisurl.ClientCert(r.cert, r.key))
	if err != nil {
		return nil, usagef("Redis from %s: %v", r.source, err)
	}
	ctx, cancel := a.ctx(ctx)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, notFoundf("Redis at %s (from %s) is unreachable: %v", redact(r.url), r.source, err)
	}
	client, err := hydrakit.NewClient(rdb, hydrakit.WithClock(a.env.Now))
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	return &conn{rdb: rdb, client: client, url: redact(r.url)}, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
