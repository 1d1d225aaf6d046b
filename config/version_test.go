package config

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortOrder(t *testing.T) {
	// Already in the order Sort must produce.
	want := []string{
		"default", "latest", "staging", "v1.x",
		"0.0.1", "0.9.0", "1", "1.0", "1.0.0", "v1.0.0",
		"1.0.1-alpha", "1.0.1-alpha.1", "1.0.1-alpha.beta", "1.0.1-beta", "1.0.1-beta.2", "1.0.1-beta.11",
		"1.0.1-rc.1", "1.0.1", "1.0.1+build.5",
		"1.2", "1.9.0", "1.10.0", "1.10.1", "2.0.0", "10.0.0", "99999999999999999999.0.0",
	}
	for seed := range uint64(20) {
		have := slices.Clone(want)
		rand.New(rand.NewPCG(seed, seed)).Shuffle(len(have), func(i, j int) { have[i], have[j] = have[j], have[i] })
		Sort(have)
		if fmt.Sprint(want) != fmt.Sprint(have) {
			t.Fatalf("want %v\nhave %v", want, have)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.9.0", "1.10.0", -1},
		{"1.10.0", "1.9.0", 1},
		{"1.0.0", "1.0.0", 0},
		{"2.0.0-rc.1", "2.0.0", -1},
		{"1.0.0-2", "1.0.0-10", -1},
		{"1.0.0-alpha", "1.0.0-1", 1},
		{"staging", "0.0.1", -1},
		{"1.0.0", "1.0", 1}, // equal precedence: bytewise
		{"01.2.3", "1.2.3", -1},
		{"1.2.3-", "1.2.3", -1},   // not a version
		{"1.2.3.4", "0.0.1", -1},  // not a version
		{"1.2.3-a..b", "1.0", -1}, // empty prerelease identifier: not a version
		{"1.2.3+", "1.0", -1},
	} {
		if have := Compare(tc.a, tc.b); tc.want != have {
			t.Errorf("Compare(%q, %q): want %d, have %d", tc.a, tc.b, tc.want, have)
		}
	}
}

// Labels come from Redis, written by anyone: Compare must be a total order on any strings.
func FuzzCompare(f *testing.F) {
	for _, s := range []string{"1.9.0", "1.10.0", "v2", "1.0.0-rc.1", "x", "", "1.0.0+b", "-", "+", "v"} {
		f.Add(s, "1.0.0", "staging")
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		if Compare(a, a) != 0 {
			t.Fatalf("Compare(%q, %q) != 0", a, a)
		}
		if Compare(a, b) != -Compare(b, a) {
			t.Fatalf("antisymmetry: %q %q", a, b)
		}
		if (Compare(a, b) == 0) != (a == b) {
			t.Fatalf("only equal strings compare equal: %q %q", a, b)
		}
		if Compare(a, b) <= 0 && Compare(b, c) <= 0 && Compare(a, c) > 0 {
			t.Fatalf("transitivity: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
	})
}
