package redistest_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMini(t *testing.T) {
	m, c := redistest.Mini(t)
	if err := c.Set(context.Background(), "k", "v", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	m.FastForward(2 * time.Second)
	if n := c.Exists(context.Background(), "k").Val(); n != 0 {
		t.Errorf("want key expired, have %d", n)
	}
}

func TestStartRestartLosesDataWithoutPersistence(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	if want, have := int64(0), c.Exists(ctx, "k").Val(); want != have {
		t.Errorf("want %d, have %d", want, have)
	}
}

func TestAppendOnlyRestartKeepsData(t *testing.T) {
	s := redistest.Start(t, redistest.AppendOnly())
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	if want, have := "v", c.Get(ctx, "k").Val(); want != have {
		t.Errorf("want %q, have %q", want, have)
	}
}

func TestClient(t *testing.T) {
	c := redistest.Client(t)
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if a, b := redistest.Name("svc"), redistest.Name("svc"); a == b {
		t.Errorf("names repeat: %q", a)
	}
}
