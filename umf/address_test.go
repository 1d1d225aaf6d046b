package umf

import (
	"errors"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Address
		str  string // String(), when it differs from in
	}{
		{"svc:/p", Address{Service: "svc", Route: "/p"}, ""},
		{"svc:[get]/p", Address{Service: "svc", Method: "get", Route: "/p"}, ""},
		{"svc:[GET]/p", Address{Service: "svc", Method: "get", Route: "/p"}, "svc:[get]/p"},
		{"iid@svc:[post]/v1/x", Address{Instance: "iid", Service: "svc", Method: "post", Route: "/v1/x"}, ""},
		{"iid-sub@svc:/", Address{Instance: "iid", SubID: "sub", Service: "svc", Route: "/"}, ""},
		{"a-b-c@svc:/", Address{Instance: "a", SubID: "b-c", Service: "svc", Route: "/"}, ""},
		{"clientID@client:/", Address{Instance: "clientID", Service: "client", Route: "/"}, ""},
		{"hydra-router:/refresh", Address{Service: "hydra-router", Route: "/refresh"}, ""},
		{"svc:[put]/v1/x/:id/:sub", Address{Service: "svc", Method: "put", Route: "/v1/x/:id/:sub"}, ""},
		{"svc:", Address{Service: "svc"}, ""},
		{"svc:[get]", Address{Service: "svc", Method: "get"}, ""},
		{"svc:[get][x]", Address{Service: "svc", Method: "get", Route: "[x]"}, ""},
		{"svc:/[x]", Address{Service: "svc", Route: "/[x]"}, ""},
		{"a@b@c:/x", Address{Instance: "a", Service: "b@c", Route: "/x"}, ""},
		{"httpbin:/get", Address{Service: "httpbin", Route: "/get"}, ""},
	} {
		have, err := ParseAddress(c.in)
		if err != nil || have != c.want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", c.in, have, err, c.want)
			continue
		}
		str := c.str
		if str == "" {
			str = c.in
		}
		if want, have := str, have.String(); want != have {
			t.Errorf("String() = %q, want %q", have, want)
		}
	}
}

func TestParseAddressRejects(t *testing.T) {
	for _, in := range []string{"", "svc", "/path", ":/p", "@svc:/", "-sub@svc:/", "iid@:/p", "svc:[get/x", "svc:[", "svc:[]/x"} {
		if a, err := ParseAddress(in); !errors.Is(err, ErrBadAddress) {
			t.Errorf("ParseAddress(%q) = %+v, %v; want ErrBadAddress", in, a, err)
		}
	}
}
