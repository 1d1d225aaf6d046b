package umf

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Sign sets m.Signature to the HMAC-SHA256 (lower-case hex) that Node's signMessage('sha256', secret)
// computes: over JSON.stringify of the long form in the order to, from, headers, mid, rmid, timeout,
// timestamp, type, version, via, forward, body, authorization, with falsy fields absent and without
// the signature. pri, ttl and for are not covered, since Node drops them. Sign does not fill mid,
// timestamp or version (New does); it signs what is there.
func Sign(m *Message, secret []byte) error {
	mac, err := signature(m, secret)
	if err != nil {
		return err
	}
	m.Signature = hex.EncodeToString(mac)
	return nil
}

// Verify checks m.Signature against the one Sign would compute, in constant time. A missing or wrong
// signature gives an error wrapping ErrBadSignature.
func Verify(m *Message, secret []byte) error {
	if m.Signature == "" {
		return fmt.Errorf("%w: message has no signature", ErrBadSignature)
	}
	got, err := hex.DecodeString(m.Signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrBadSignature)
	}
	want, err := signature(m, secret)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, want) {
		return fmt.Errorf("%w: signature does not match", ErrBadSignature)
	}
	return nil
}

func signature(m *Message, secret []byte) ([]byte, error) {
	signed, err := m.appendSigned(nil)
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, secret)
	h.Write(signed)
	return h.Sum(nil), nil
}

// appendSigned appends the long form that Node signs.
func (m *Message) appendSigned(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, '{')
	var err error
	dst = appendStringField(dst, start, "to", m.To)
	dst = appendStringField(dst, start, "from", m.From)
	if dst, err = appendHeaders(dst, start, "headers", m.Headers); err != nil {
		return nil, err
	}
	dst = appendStringField(dst, start, "mid", m.MID)
	dst = appendStringField(dst, start, "rmid", m.RMID)
	if dst, err = m.appendTimeout(dst, start, "timeout"); err != nil {
		return nil, err
	}
	dst = appendStringField(dst, start, "timestamp", m.Timestamp)
	dst = appendStringField(dst, start, "type", m.Type)
	dst = appendStringField(dst, start, "version", m.Version)
	dst = appendStringField(dst, start, "via", m.Via)
	dst = appendStringField(dst, start, "forward", m.Forward)
	if len(m.Body) > 0 && truthyRaw(m.Body) {
		var err error
		if dst, err = appendBody(dst, start, "body", m.Body); err != nil {
			return nil, err
		}
	}
	dst = appendStringField(dst, start, "authorization", m.Authorization)
	return append(dst, '}'), nil
}
