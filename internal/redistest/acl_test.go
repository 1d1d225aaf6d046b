package redistest_test

import (
	"context"
	"errors"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func TestACLUser(t *testing.T) {
	s := redistest.Start(t, redistest.ACLUser("svc", "s3cret", "~app:*", "-@all", "+@connection", "+acl|whoami", "+get", "+set"))
	ctx := context.Background()
	c := s.ClientAs(t, "svc")

	if err := c.Set(ctx, "app:k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if want, have := "svc", c.Do(ctx, "ACL", "WHOAMI").Val(); want != have {
		t.Errorf("want logged in as %q, have %v", want, have)
	}
	if log := s.ACLLog(t); len(log) != 0 {
		t.Fatalf("want an empty ACL LOG after allowed commands, have %d entries: %+v", len(log), log[0])
	}

	err := c.Del(ctx, "app:k").Err() // DEL is not granted
	if err == nil || !isNoPerm(err) {
		t.Errorf("want DEL refused with NOPERM, have %v", err)
	}
	err = c.Get(ctx, "other:k").Err() // outside ~app:*
	if err == nil || !isNoPerm(err) {
		t.Errorf("want GET outside the key pattern refused with NOPERM, have %v", err)
	}

	log := s.ACLLog(t)
	if want, have := 2, len(log); want != have {
		t.Fatalf("want %d ACL LOG entries, have %d", want, have)
	}
	for i, want := range []struct{ reason, object string }{{"key", "other:k"}, {"command", "del"}} {
		if log[i].Reason != want.reason || log[i].Object != want.object || log[i].Username != "svc" {
			t.Errorf("ACL LOG[%d]: want %s refused (%s) to svc, have %+v", i, want.object, want.reason, log[i])
		}
	}
	s.ACLLogReset(t)
	if log := s.ACLLog(t); len(log) != 0 {
		t.Errorf("want an empty ACL LOG after reset, have %d entries", len(log))
	}

	s.Restart(t) // the user comes back with the server
	if err := s.ClientAs(t, "svc").Set(ctx, "app:k", "v", 0).Err(); err != nil {
		t.Errorf("after Restart: %v", err)
	}

	wrong := goredis.NewClient(&goredis.Options{Addr: s.Addr, Username: "svc", Password: "wrong", MaxRetries: -1})
	defer func() { _ = wrong.Close() }()
	if err := wrong.Ping(ctx).Err(); err == nil {
		t.Error("want a wrong password refused")
	}
}

func isNoPerm(err error) bool {
	var rerr goredis.Error
	return errors.As(err, &rerr) && len(rerr.Error()) > 6 && rerr.Error()[:6] == "NOPERM"
}
