package umf

import "testing"

func TestIsCanonical(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"A":12345,"B":1}`, true},
		{`[1,-2,"x",true,false,null,{},[]]`, true},
		{`{"a":{"a":1},"b":[{"a":2}]}`, true}, // the same key in different objects
		{`"héllo"`, true},
		{`{"a":1,"a":2}`, false},                       // JSON.stringify keeps one
		{`{"b":1,"10":2}`, false},                      // array-index keys go first
		{`1.5`, false},                                 // fractions and exponents: JS number formatting
		{`1e21`, false},                                //
		{`-0`, false},                                  // JSON.stringify(-0) is 0
		{`9007199254740993`, false},                    // beyond 2^53
		{`"\u2028"`, false},                            // JS writes U+2028 raw
		{`"a\"b"`, false},                              // any escape: checked by Normalize
		{"\"\xff\"", false},                            // invalid UTF-8 becomes U+FFFD
		{``, false},                                    //
		{`[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]`, false}, // deeper than checked
	} {
		if have := isCanonical([]byte(tc.in)); have != tc.want {
			t.Errorf("isCanonical(%s): want %v, have %v", tc.in, tc.want, have)
		}
		if tc.want {
			if canon, err := Normalize([]byte(tc.in)); err != nil || string(canon) != tc.in {
				t.Errorf("Normalize(%s) = %s, %v: the table is wrong", tc.in, canon, err)
			}
		}
	}
}
