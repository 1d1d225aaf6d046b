package config

import (
	"cmp"
	"slices"
	"strings"
)

// Compare orders config versions, returning -1, 0 or +1. Labels that are versions
// (an optional "v", one to three numeric parts, an optional "-prerelease" and "+build") compare by
// semantic-version precedence, missing parts counting as 0, so 1.9.0 < 1.10.0 and 2.0.0-rc.1 < 2.0.0.
// Every other label ("staging", "default") sorts before every version, in byte order, so it never
// becomes the latest. Labels of equal precedence ("1.0" and "1.0.0", differing build metadata) are
// ordered bytewise so the order is total.
func Compare(a, b string) int {
	va, aok := parseVersion(a)
	vb, bok := parseVersion(b)
	switch {
	case aok && !bok:
		return 1
	case !aok && bok:
		return -1
	case aok && bok:
		if c := va.compare(vb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// Sort sorts versions in place by Compare: oldest first, latest last.
func Sort(versions []string) {
	slices.SortFunc(versions, Compare)
}

type version struct {
	core [3]string // numeric, without leading zeros
	pre  []string  // prerelease identifiers; none for a release
}

func parseVersion(s string) (version, bool) {
	var v version
	if strings.HasPrefix(s, "v") || strings.HasPrefix(s, "V") {
		s = s[1:]
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if i == len(s)-1 {
			return v, false
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		if i == len(s)-1 {
			return v, false
		}
		v.pre = strings.Split(s[i+1:], ".")
		for _, id := range v.pre {
			if id == "" {
				return v, false
			}
		}
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return v, false
	}
	v.core = [3]string{"0", "0", "0"}
	for i, p := range parts {
		if !numeric(p) {
			return v, false
		}
		v.core[i] = trimZeros(p)
	}
	return v, true
}

func (v version) compare(o version) int {
	for i := range v.core {
		if c := compareNumeric(v.core[i], o.core[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.pre) == 0 && len(o.pre) == 0:
		return 0
	case len(v.pre) == 0:
		return 1 // a release follows its prereleases
	case len(o.pre) == 0:
		return -1
	}
	for i := 0; i < len(v.pre) && i < len(o.pre); i++ {
		if c := comparePrerelease(v.pre[i], o.pre[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(v.pre), len(o.pre))
}

// comparePrerelease follows semver: numeric identifiers compare numerically and sort before
// alphanumeric ones, which compare bytewise.
func comparePrerelease(a, b string) int {
	an, bn := numeric(a), numeric(b)
	switch {
	case an && bn:
		return compareNumeric(trimZeros(a), trimZeros(b))
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

// compareNumeric compares digit strings without leading zeros of any length (no overflow).
func compareNumeric(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func trimZeros(s string) string {
	t := strings.TrimLeft(s, "0")
	if t == "" {
		return "0"
	}
	return t
}
