package redistest

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

type aclUser struct {
	name, password string
	rules          []string
}

// ACLUser creates an ACL user on every data node when it starts (and again after Restart), with
//
//	ACL SETUSER <name> reset on ><password> <rules...>
//
// so the user can do exactly what rules grant (for example "~hydra:service:*", "&hydra:service:*",
// "-@all", "+@read"); an empty password means nopass. The default user keeps every permission: the
// helpers and the cluster and replication set-up use it. It applies to Start, StartCluster and
// StartSentinel (not to the sentinel process itself); ClientAs logs in as the user.
func ACLUser(name, password string, rules ...string) ServerOption {
	return func(c *config) {
		c.users = append(c.users, aclUser{name: name, password: password, rules: rules})
	}
}

// user is the ACLUser called name, or fails the test.
func (c config) user(tb testing.TB, name string) aclUser {
	tb.Helper()
	for _, u := range c.users {
		if u.name == name {
			return u
		}
	}
	tb.Fatalf("redistest: no ACLUser %q among the options", name)
	return aclUser{}
}

// addUsers runs ACL SETUSER for every ACLUser.
func (s *Server) addUsers(tb testing.TB) {
	tb.Helper()
	if len(s.cfg.users) == 0 {
		return
	}
	c := goredis.NewClient(s.Options())
	defer func() { _ = c.Close() }()
	for _, u := range s.cfg.users {
		args := []any{"ACL", "SETUSER", u.name, "reset", "on"}
		if u.password == "" {
			args = append(args, "nopass")
		} else {
			args = append(args, ">"+u.password)
		}
		for _, r := range u.rules {
			args = append(args, r)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Do(ctx, args...).Err()
		cancel()
		if err != nil {
			tb.Fatalf("redistest: ACL SETUSER %s on %s: %v", u.name, s.Addr, err)
		}
	}
}

// ClientAs returns a new client on the server logged in as the ACLUser called name, closed when the
// test ends. It does not ping: the user may not be allowed to, and a refused PING would be in ACL LOG.
// go-redis runs HELLO (allowed to every user) and CLIENT SETINFO (on Redis 7.2 and later; refusals are
// ignored but logged) on each new connection.
func (s *Server) ClientAs(tb testing.TB, name string) *goredis.Client {
	tb.Helper()
	u := s.cfg.user(tb, name)
	opts := s.Options()
	opts.Username, opts.Password = u.name, u.password
	c := goredis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// ACLLog returns the server's ACL LOG (newest first, as Redis keeps it): every command, key and
// channel refused to a user since the start or the last ACLLogReset.
func (s *Server) ACLLog(tb testing.TB) []*goredis.ACLLogEntry {
	tb.Helper()
	c := goredis.NewClient(s.Options())
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log, err := c.ACLLog(ctx, 1000).Result()
	if err != nil {
		tb.Fatalf("redistest: ACL LOG on %s: %v", s.Addr, err)
	}
	return log
}

// ACLLogReset empties the server's ACL LOG.
func (s *Server) ACLLogReset(tb testing.TB) {
	tb.Helper()
	c := goredis.NewClient(s.Options())
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ACLLogReset(ctx).Err(); err != nil {
		tb.Fatalf("redistest: ACL LOG RESET on %s: %v", s.Addr, err)
	}
}
