package envelope

import (
	"errors"
	"net/http/httptest"
	"testing"
)

func TestMarshalMatchesHydraRouter(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		res  any
		ext  []Field
		want string
	}{
		{"version", 200, map[string]string{"version": "1.9.15"}, nil,
			`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"version":"1.9.15"}}`},
		{"not found", 404, nil, nil,
			`{"statusCode":404,"statusMessage":"Not Found","statusDescription":"The requested resource was not found on the server","result":{}}`},
		{"unavailable", 503, map[string]string{"reason": "Unavailable hxsvc instances"}, []Field{{"tracer", "abc"}},
			`{"statusCode":503,"statusMessage":"Service Unavailable","statusDescription":"The server is currently unable to handle the request due to a temporary overloading or maintenance of the server","result":{"reason":"Unavailable hxsvc instances"},"tracer":"abc"}`},
		{"not HTML-escaped", 200, map[string]string{"reason": "a <b> & c"}, nil,
			`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"reason":"a <b> & c"}}`},
		{"unknown code", 418, nil, nil,
			`{"statusCode":418,"statusMessage":"418","statusDescription":"Unknown statusCode 418","result":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have, err := Marshal(tc.code, tc.res, tc.ext...)
			if err != nil {
				t.Fatal(err)
			}
			if string(have) != tc.want {
				t.Errorf("\nwant %s\nhave %s", tc.want, have)
			}
		})
	}
}

func TestMergeIsObjectAssign(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"result replaced in place", `{"result":{"id":"42"}}`,
			`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"id":"42"}}`},
		{"extra keys after, in order", `{"code":404,"a":[1]}`,
			`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{},"code":404,"a":[1]}`},
		{"service status kept in place", `{"z":1,"statusCode":201}`,
			`{"statusCode":201,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{},"z":1}`},
		{"written compact, not HTML-escaped, as JSON.stringify does", "{\"result\": {\"a\": [1, 2],\n \"h\": \"<b>&</b>\"}}",
			`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"a":[1,2],"h":"<b>&</b>"}}`},
		{"repeated key: first place, last value", `{"x":1,"y":2,"x":3}`,
			`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{},"x":3,"y":2}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have, err := Merge(200, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(have) != tc.want {
				t.Errorf("\nwant %s\nhave %s", tc.want, have)
			}
		})
	}
}

func TestMergeRefusesNonObjects(t *testing.T) {
	for _, body := range []string{``, `[]`, `"x"`, `{"a":1`, `{"a":1} {}`, `{"a":}`, `null`} {
		if _, err := Merge(200, []byte(body)); !errors.Is(err, ErrNotObject) {
			t.Errorf("Merge(%q): want ErrNotObject, have %v", body, err)
		}
	}
}

func TestWriteSetsLengthAfterCallerHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("access-control-allow-origin", "*")
	if err := Write(rec, 404, nil); err != nil {
		t.Fatal(err)
	}
	if have := rec.Header().Get("Content-Length"); have != "131" {
		t.Errorf("Content-Length: want 131, have %s (%d bytes)", have, rec.Body.Len())
	}
	if rec.Header().Get("access-control-allow-origin") != "*" || rec.Code != 404 {
		t.Errorf("headers or code lost: %v %d", rec.Header(), rec.Code)
	}
}
