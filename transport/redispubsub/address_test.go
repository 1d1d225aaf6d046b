package redispubsub

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hydrakit/hydrakit/keyspace"
)

func TestRouteOf(t *testing.T) {
	for to, want := range map[string]string{
		"svc:/p":                 "/p",
		"svc:[get]/v1/x":         "/v1/x",
		"iid@svc:[post]/v1/x:y":  "/v1/x:y",
		"svc:":                   "",
		"svc:[get]":              "",
		"no-colon":               "",
		"":                       "",
		"svc:[get":               "[get", // unreadable: answered 400 by dispatch, never routed
		"iid-sub@svc:/with/more": "/with/more",
	} {
		if have := routeOf(to); want != have {
			t.Errorf("routeOf(%q): want %q, have %q", to, want, have)
		}
	}
}

func TestSplitAddress(t *testing.T) {
	for _, tc := range []struct{ addr, instance, service string }{
		{"iid@svc:/r", "iid", "svc"},
		{"iid-ws7@hydra-router:/", "iid-ws7", "hydra-router"},
		{"svc:/r", "", "svc"},
		{"svc:[get]/a@b", "", "svc"},
		{"@svc:/", "", "svc"},
		{"no-colon", "", ""},
		{"", "", ""},
	} {
		if instance, service := splitAddress(tc.addr); instance != tc.instance || service != tc.service {
			t.Errorf("splitAddress(%q): want %q %q, have %q %q", tc.addr, tc.instance, tc.service, instance, service)
		}
	}
}

// With signatures required a message must name this service: as svc:… or iid@svc:…, in any case.
func TestAddressedTo(t *testing.T) {
	for to, want := range map[string]bool{
		"calc:/sum":           true,
		"CALC:/sum":           true,
		"iid@calc:[post]/sum": true,
		"iid@Calc:/":          true,
		"calc:":               true,
		"calcx:/sum":          false,
		"cal:/sum":            false,
		"iid@other:/sum":      false,
		"calc@other:/sum":     false,
		"calc":                false,
		"":                    false,
	} {
		if have := addressedTo(to, "calc"); want != have {
			t.Errorf("addressedTo(%q, calc): want %v, have %v", to, want, have)
		}
	}
}

// A reply completes a request only when its frm names whom the request was sent to: the instance
// asked, or for a service address any instance of the service.
func TestAnsweredBy(t *testing.T) {
	const asked, other = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	toInstance := &call{service: "calc", instance: asked}
	toService := &call{service: "calc"}
	for _, tc := range []struct {
		frm                 string
		instance, byService bool
	}{
		{asked + "@calc:/sum", true, true},
		{asked + "@calc:[post]/sum", true, true},
		{other + "@calc:/sum", false, true},
		{"calc:/sum", false, true}, // Node's reply to a service address names no instance
		{asked + "@other:/sum", false, false},
		{"other:/", false, false},
		{"", false, false},
		{"no-colon", false, false},
	} {
		if have := toInstance.answeredBy(tc.frm); have != tc.instance {
			t.Errorf("a request to %s@calc, a reply from %q: want %v, have %v", asked, tc.frm, tc.instance, have)
		}
		if have := toService.answeredBy(tc.frm); have != tc.byService {
			t.Errorf("a request to calc, a reply from %q: want %v, have %v", tc.frm, tc.byService, have)
		}
	}
}

// An instance address is its channel (remembered); a service address is one of the instances that
// discovery lists, and an address that names nothing usable is an error saying which.
func TestChannelOfAnAddress(t *testing.T) {
	c := bareConn(newStoppedClock().now)
	keys := keyspace.New()
	var asked []string
	instances := func(_ context.Context, service string) ([]string, error) {
		asked = append(asked, service)
		switch service {
		case "calc":
			return []string{"i1", "i2"}, nil
		case "broken":
			return nil, errors.New("boom")
		}
		return nil, nil
	}
	ctx := context.Background()
	for range 2 {
		ch, err := c.channel(ctx, "iid@calc:/sum", instances)
		if err != nil || ch != keys.InstanceChannel("calc", "iid") {
			t.Errorf("an instance address: want %s, have %q %v", keys.InstanceChannel("calc", "iid"), ch, err)
		}
	}
	if _, ok := c.channelCache.get("iid@calc:/sum"); !ok || len(asked) != 0 {
		t.Errorf("an instance address: want it cached and no discovery, have cached %v, asked %v", ok, asked)
	}
	seen := map[string]bool{}
	for range 64 {
		ch, err := c.channel(ctx, "calc:/sum", instances)
		if err != nil {
			t.Fatal(err)
		}
		seen[ch] = true
	}
	want := []string{keys.InstanceChannel("calc", "i1"), keys.InstanceChannel("calc", "i2")}
	for ch := range seen {
		if !slices.Contains(want, ch) {
			t.Errorf("a service address: want channels among %v, have %s", want, ch)
		}
	}
	if _, ok := c.channelCache.get("calc:/sum"); ok {
		t.Error("a service address was cached: its instances change")
	}
	for _, tc := range []struct {
		to   string
		want error
	}{
		{"nobody:/x", ErrNoInstances},
		{"no-colon", ErrBadAddress},
		{"calc:[get/x", ErrBadAddress},
	} {
		if _, err := c.channel(ctx, tc.to, instances); !errors.Is(err, tc.want) {
			t.Errorf("%q: want %v, have %v", tc.to, tc.want, err)
		}
	}
	if _, err := c.channel(ctx, "broken:/x", instances); err == nil || errors.Is(err, ErrNoInstances) {
		t.Errorf("a failed lookup: want its error, have %v", err)
	}
	if want := []string{"nobody", "broken"}; !slices.Equal(want, asked[len(asked)-2:]) {
		t.Errorf("want discovery asked for %v last, have %v", want, asked)
	}
}
