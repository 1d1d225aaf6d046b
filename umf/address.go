package umf

import (
	"fmt"
	"strings"
)

// Address is a parsed UMF address, the value of to, frm, via and fwd:
//
//	[instance[-subID]@]service:[ [method] ]route
//
// for example "svc:/p", "svc:[get]/v1/x", "iid@svc:[post]/v1/x", "iid-sub@svc:/", "cid@client:/" or
// "hydra-router:/refresh". Instance excludes the -subID part, which is in SubID (hydra-router puts its
// WebSocket client ID there). Method is the lower-cased HTTP verb; Route is everything after the first
// ':' (and after the verb), so routes may themselves contain ':' as in "/v1/x/:id".
type Address struct {
	Instance, SubID, Service, Method, Route string
}

// ParseAddress parses s as Node Hydra's parseRoute does, with two deliberate differences: an instance
// part "a-b-c" yields SubID "b-c" (Node keeps only "b"), and a service whose name starts with "http"
// is an ordinary service (Node misreads it as a URL). Malformed input gives an error wrapping
// ErrBadAddress: no ':', an empty service, an empty instance before '@', or an unterminated or empty
// [verb].
func ParseAddress(s string) (Address, error) {
	var a Address
	head, route, ok := strings.Cut(s, ":")
	if !ok {
		return a, fmt.Errorf("%w: %q has no ':' between service and route", ErrBadAddress, s)
	}
	if inst, svc, ok := strings.Cut(head, "@"); ok {
		a.Instance, a.SubID, _ = strings.Cut(inst, "-")
		if a.Instance == "" {
			return a, fmt.Errorf("%w: %q has an empty instance before '@'", ErrBadAddress, s)
		}
		head = svc
	}
	if head == "" {
		return a, fmt.Errorf("%w: %q has an empty service name", ErrBadAddress, s)
	}
	a.Service = head
	if strings.HasPrefix(route, "[") {
		end := strings.IndexByte(route, ']')
		if end < 0 {
			return a, fmt.Errorf("%w: %q has an unterminated [verb]", ErrBadAddress, s)
		}
		if end == 1 {
			return a, fmt.Errorf("%w: %q has an empty [verb]", ErrBadAddress, s)
		}
		a.Method = lowerASCII(route[1:end])
		route = route[end+1:]
	}
	a.Route = route
	return a, nil
}

// String formats a as an address string; ParseAddress(a.String()) gives a back for any a that
// ParseAddress returned.
func (a Address) String() string {
	var b strings.Builder
	b.Grow(len(a.Instance) + len(a.SubID) + len(a.Service) + len(a.Method) + len(a.Route) + 5)
	if a.Instance != "" || a.SubID != "" {
		b.WriteString(a.Instance)
		if a.SubID != "" {
			b.WriteByte('-')
			b.WriteString(a.SubID)
		}
		b.WriteByte('@')
	}
	b.WriteString(a.Service)
	b.WriteByte(':')
	if a.Method != "" {
		b.WriteByte('[')
		b.WriteString(a.Method)
		b.WriteByte(']')
	}
	b.WriteString(a.Route)
	return b.String()
}

// lowerASCII lower-cases ASCII letters only: HTTP verbs are ASCII tokens, and leaving other bytes
// alone keeps parse→format→parse exact.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
