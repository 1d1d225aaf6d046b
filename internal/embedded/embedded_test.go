package embedded_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestKeysExpireInRealTime(t *testing.T) {
	s, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if want, have := int64(1), c.Exists(ctx, "k").Val(); want != have {
		t.Fatalf("want %d, have %d", want, have)
	}
	deadline := time.Now().Add(2 * time.Second)
	for c.Exists(ctx, "k").Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("key did not expire within 2 s of a 200 ms TTL")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
