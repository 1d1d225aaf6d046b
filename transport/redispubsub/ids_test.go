package redispubsub

import (
	"regexp"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

func TestNewMIDIsUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		mid := newMID()
		if !re.MatchString(mid) {
			t.Fatalf("%q is not a UUIDv4", mid)
		}
		if seen[mid] {
			t.Fatalf("%q repeated", mid)
		}
		seen[mid] = true
	}
}

func TestTimestampMatchesFormatTime(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	ts := timestamp(time.Now())
	after := time.Now()
	parsed, err := time.Parse("2006-01-02T15:04:05.000Z", ts)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Before(before) || parsed.After(after) {
		t.Errorf("%s is not between %v and %v", ts, before, after)
	}
	if want, have := umf.FormatTime(parsed), ts; want != have {
		t.Errorf("want %s, have %s", want, have)
	}
}

func TestChannelCacheIsBounded(t *testing.T) {
	var cc channelCache
	for i := range maxCachedChannels + 10 {
		cc.put(string(rune(i)), "ch")
	}
	if n := len(cc.m); n > maxCachedChannels {
		t.Errorf("cache holds %d entries, more than %d", n, maxCachedChannels)
	}
}
