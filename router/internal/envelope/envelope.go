package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// statuses is hydra 1.9.3's ServerResponse.STATUS table: [statusMessage, statusDescription].
var statuses = map[int][2]string{
	200: {"OK", "Request succeeded without error"},
	201: {"Created", "Resource created"},
	202: {"Accepted", "Request accepted"},
	204: {"No Content", "Resource has no content"},
	301: {"Moved Permanently", "Resource has been permanently moved"},
	302: {"Found", "Resource was found under another URI"},
	304: {"Not Modified", "Resource has not been modified"},
	400: {"Bad Request", "Request is invalid, missing parameters?"},
	401: {"Unauthorized", "User isn't authorized to access this resource"},
	402: {"Payment Required", "This code is reserved for future use."},
	403: {"Forbidden", "The server understood the request but refuses to authorize it"},
	404: {"Not Found", "The requested resource was not found on the server"},
	405: {"Method not allowed", "The HTTP method used is not allowed"},
	406: {"Not Acceptable", "The target resource does not have a current representation that would be acceptable to the user agent"},
	409: {"Conflict", "Request has caused a conflict"},
	413: {"Request Entity Too Large", "The webserver or proxy believes the request is too large"},
	429: {"Too Many Requests", "Too many requests issue within a period"},
	500: {"Server Error", "An error occurred on the server"},
	501: {"Method Not Implemented", "The requested method / resource isn't implemented on the server"},
	502: {"Connection Refused", "The connection to server was refused"},
	503: {"Service Unavailable", "The server is currently unable to handle the request due to a temporary overloading or maintenance of the server"},
}

// Status returns hydra's statusMessage and statusDescription for code; a code hydra has no entry
// for gets hydra's fallback ("<code>", "Unknown statusCode <code>").
func Status(code int) (message, description string) {
	if s, ok := statuses[code]; ok {
		return s[0], s[1]
	}
	return strconv.Itoa(code), "Unknown statusCode " + strconv.Itoa(code)
}

// Field is a top-level key written after result, in the order given.
type Field struct {
	Key   string
	Value any
}

// Marshal returns the envelope for code with result (nil is written as {}) and the extra fields.
func Marshal(code int, result any, extra ...Field) ([]byte, error) {
	msg, desc := Status(code)
	fields := make([]Field, 0, 4+len(extra))
	if result == nil {
		result = struct{}{}
	}
	fields = append(fields,
		Field{"statusCode", code}, Field{"statusMessage", msg},
		Field{"statusDescription", desc}, Field{"result", result})
	fields = append(fields, extra...)
	return marshalFields(fields)
}

// ErrNotObject is returned by Merge for a service body that is not a JSON object.
var ErrNotObject = errors.New("envelope: service body is not a JSON object")

// Merge returns what hydra-router answers for a JSON service reply: the envelope for code,
// Object.assign'ed with the service's object body. A key the body shares with the envelope keeps
// the envelope's position and takes the body's value; the body's other keys follow in its order (a
// key repeated in the body keeps its first position and its last value, as JSON.parse does).
func Merge(code int, serviceBody []byte) ([]byte, error) {
	msg, desc := Status(code)
	fields := []Field{
		{"statusCode", code}, {"statusMessage", msg},
		{"statusDescription", desc}, {"result", struct{}{}},
	}
	index := map[string]int{"statusCode": 0, "statusMessage": 1, "statusDescription": 2, "result": 3}
	dec := json.NewDecoder(bytes.NewReader(serviceBody))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotObject
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
		}
		if i, ok := index[key]; ok {
			fields[i].Value = value
			continue
		}
		index[key] = len(fields)
		fields = append(fields, Field{key, value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrNotObject
	}
	return marshalFields(fields)
}

// Write answers with the envelope for code: Content-Type application/json and an exact
// Content-Length, after whatever headers the caller already set (CORS, for one).
func Write(w http.ResponseWriter, code int, result any, extra ...Field) error {
	body, err := Marshal(code, result, extra...)
	if err != nil {
		return err
	}
	WriteJSON(w, code, body)
	return nil
}

// WriteJSON answers with body, a JSON document, as Write does.
func WriteJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

func marshalFields(fields []Field) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(256)
	buf.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(appendString(buf.AvailableBuffer(), f.Key))
		buf.WriteByte(':')
		switch v := f.Value.(type) {
		case json.RawMessage: // a value Merge's decoder read whole; compacted as JSON.stringify writes it
			if err := json.Compact(&buf, v); err != nil {
				return nil, fmt.Errorf("envelope: %s: %w", f.Key, err)
			}
		case int:
			buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(v), 10))
		case string:
			buf.Write(appendString(buf.AvailableBuffer(), v))
		default: // as JSON.stringify writes it: no HTML escaping
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				return nil, fmt.Errorf("envelope: %s: %w", f.Key, err)
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// appendString appends s as a JSON string: as it is when it needs no escaping (status texts and most
// keys), else as encoding/json writes it.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s)
			return append(buf, quoted...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
