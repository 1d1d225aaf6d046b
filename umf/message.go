package umf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Version is the UMF version New writes into ver, the same as Node Hydra 1.9.3.
const Version = "UMF/1.4.6"

// Message is one UMF message. Field comments give the short (wire) name. Zero values mean absent,
// as Node treats every falsy field. Headers and Body hold raw JSON so that user payloads are never
// re-encoded by accident; Marshal normalizes them to JSON.stringify's output.
type Message struct {
	To            string          // to: the destination address
	From          string          // frm: the sender address; replies go here unless Via is set
	Headers       json.RawMessage // hdr: a JSON object, or nil
	MID           string          // mid: message ID, a UUIDv4 by default but any string is accepted
	RMID          string          // rmid: the mid this message replies to (Node reads no rmi, nor does Unmarshal)
	Signature     string          // sig: HMAC-SHA256 hex, see Sign
	Timeout       float64         // tmo: seconds; 0 is absent (a numeric string "5" is read as 5)
	Timestamp     string          // ts: ISO-8601 UTC with milliseconds, kept verbatim
	Type          string          // typ: e.g. ping, pong, connection, or an application type
	Version       string          // ver: UMF/1.4.6
	Via           string          // via: an intermediary; replies are addressed to it
	Forward       string          // fwd: forward-to address, carried into replies
	Body          json.RawMessage // bdy: any JSON value, or nil
	Authorization string          // aut: becomes an HTTP Authorization header at a gateway
	Priority      float64         // pri: in the UMF spec; Node Hydra drops it, hydrakit keeps it
	TTL           float64         // ttl: in the UMF spec; Node Hydra drops it, hydrakit keeps it
	For           string          // for: in the UMF spec; Node Hydra drops it, hydrakit keeps it

	canonBody   []byte // Body as SetBody set it, already JSON.stringify's bytes: Marshal copies it as is
	timeoutText string // tmo as read when it was a numeric string: written back while Timeout equals it
}

// New returns a message from one address to another with a fresh mid, the current timestamp and
// ver UMF/1.4.6, as Node's createMessage fills them. A nil body leaves bdy absent; otherwise the
// body is encoded as SetBody does.
func New(to, from string, body any) (*Message, error) {
	m := &Message{To: to, From: from, MID: NewMID(), Timestamp: FormatTime(time.Now()), Version: Version}
	if body != nil {
		if err := m.SetBody(body); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// NewMID returns a random UUIDv4 with dashes, Node Hydra's default message ID.
func NewMID() string { return uuid.NewString() }

// FormatTime formats t the way JavaScript's Date.prototype.toISOString does (UTC, milliseconds, Z).
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// SetBody sets Body to v encoded exactly as Node's JSON.stringify would write the same value:
// encoding/json without HTML escaping, then Normalize (which also undoes Go's \u2028 and \u2029
// escapes and puts integer-like map keys first). Marshal writes such a Body without normalizing it
// again, so replace Body (assign a new slice) rather than editing its bytes in place.
func (m *Message) SetBody(v any) error {
	e := bodyEncoders.Get().(*bodyEncoder)
	defer e.put()
	if err := e.enc.Encode(v); err != nil {
		return fmt.Errorf("%w: encode body: %w", ErrMalformed, err)
	}
	out := e.buf.Bytes()
	out = out[:len(out)-1] // Encode's newline
	var body []byte
	var err error
	if isCanonical(out) {
		body = append(make([]byte, 0, len(out)), out...)
	} else if body, err = Normalize(out); err != nil {
		return err
	}
	m.Body, m.canonBody = body, body
	return nil
}

// bodyEncoder is an Encoder writing to its own buffer, pooled: SetBody is on every request's path
// and Normalize copies the result out anyway.
type bodyEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var bodyEncoders = sync.Pool{New: func() any {
	e := new(bodyEncoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

func (e *bodyEncoder) put() {
	if e.buf.Cap() > 64<<10 {
		return // let oversized buffers go
	}
	e.buf.Reset()
	bodyEncoders.Put(e)
}

// DecodeBody decodes Body into v with encoding/json.
func (m *Message) DecodeBody(v any) error {
	if len(m.Body) == 0 {
		return fmt.Errorf("%w: message has no body", ErrMalformed)
	}
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("%w: decode body: %w", ErrMalformed, err)
	}
	return nil
}

// MarshalJSON returns the short wire form, so a Message embedded in other JSON is written in Hydra's
// shape, whether it is held by pointer or by value (a value receiver, as time.Time has: a Message in
// a struct passed by value or in a map is not addressable). encoding/json escapes <, >, &, U+2028 and
// U+2029 in it again unless the Encoder has SetEscapeHTML(false): use Marshal for bytes that go on
// the wire.
func (m Message) MarshalJSON() ([]byte, error) { return m.Marshal() }

// UnmarshalJSON replaces m with the message in data (short or long form).
func (m *Message) UnmarshalJSON(data []byte) error {
	*m = Message{}
	return m.unmarshal(data)
}
