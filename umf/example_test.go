package umf_test

import (
	"fmt"

	"github.com/hydrakit/hydrakit/umf"
)

func Example() {
	m, err := umf.New("billing:[post]/v1/invoices", "3f2a9c@shop:/", map[string]any{"amount": 12.5, "note": "<ok> & ✓"})
	if err != nil {
		panic(err)
	}
	m.MID, m.Timestamp = "example-mid", "2026-11-25T18:00:00.000Z" // fixed for the output below
	wire, err := m.Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Println(string(wire))

	got, err := umf.Unmarshal(wire)
	if err != nil {
		panic(err)
	}
	var body struct{ Amount float64 }
	if err := got.DecodeBody(&body); err != nil {
		panic(err)
	}
	fmt.Println(got.From, body.Amount)
	// Output:
	// {"to":"billing:[post]/v1/invoices","frm":"3f2a9c@shop:/","mid":"example-mid","ts":"2026-11-25T18:00:00.000Z","ver":"UMF/1.4.6","bdy":{"amount":12.5,"note":"<ok> & ✓"}}
	// 3f2a9c@shop:/ 12.5
}

func ExampleParseAddress() {
	a, err := umf.ParseAddress("4d1e-7@hydra-router:[GET]/v1/items/:id")
	if err != nil {
		panic(err)
	}
	fmt.Printf("instance=%s sub=%s service=%s method=%s route=%s\n", a.Instance, a.SubID, a.Service, a.Method, a.Route)
	fmt.Println(a)

	_, err = umf.ParseAddress("svc:[get/x")
	fmt.Println(err)
	// Output:
	// instance=4d1e sub=7 service=hydra-router method=get route=/v1/items/:id
	// 4d1e-7@hydra-router:[get]/v1/items/:id
	// umf: bad address: "svc:[get/x" has an unterminated [verb]
}

func ExampleReply() {
	req, err := umf.Unmarshal([]byte(`{"to":"svc:/ping","frm":"a1b2@caller:/","mid":"req-1","typ":"ping","bdy":{}}`))
	if err != nil {
		panic(err)
	}
	resp := &umf.Message{Type: "pong", MID: "resp-1", Timestamp: "2026-11-25T18:00:01.000Z"}
	if err := resp.SetBody(map[string]bool{"pong": true}); err != nil {
		panic(err)
	}
	wire, err := umf.Reply(req, resp).Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Println(string(wire))
	// Output:
	// {"to":"a1b2@caller:/","frm":"svc:/ping","mid":"resp-1","rmid":"req-1","ts":"2026-11-25T18:00:01.000Z","typ":"pong","ver":"UMF/1.4.6","bdy":{"pong":true}}
}

func ExampleNormalize() {
	out, err := umf.Normalize([]byte(`{ "b": 1, "10": [1.0, 1e21, -0], "2": "\u003c\u00e9", "b": 2 }`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"2":"<é","10":[1,1e+21,0],"b":2}
}

func ExampleSign() {
	m := &umf.Message{To: "svc:/", From: "a:/", MID: "m", Timestamp: "t", Version: umf.Version, Body: []byte(`{"x":1}`)}
	secret := []byte("secret")
	if err := umf.Sign(m, secret); err != nil {
		panic(err)
	}
	fmt.Println(m.Signature) // what Node's msg.signMessage('sha256', 'secret') gives for this message
	fmt.Println(umf.Verify(m, secret))
	m.Body = []byte(`{"x":2}`)
	fmt.Println(umf.Verify(m, secret))
	// Output:
	// 28eab4d1730cb5faa2e4e37eb4ddd4657a1a3cde146c211fdc7609ba981d5c8b
	// <nil>
	// umf: bad signature: signature does not match
}
