package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

var errNotObject = errors.New("queue: not a JSON object")

type field struct {
	key   string
	value json.RawMessage
}

// objectFields splits a JSON object into its fields, in order.
func objectFields(obj []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, field{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	return fields, nil
}

func encodeFields(fields []field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// setJSONField sets key to the string value in a JSON object the way a JavaScript assignment does:
// in place when the key exists, else appended. The caller normalizes the result.
func setJSONField(obj []byte, key, value string) ([]byte, error) {
	fields, err := objectFields(obj)
	if err != nil {
		return nil, err
	}
	v, _ := json.Marshal(value)
	for i := range fields {
		if fields[i].key == key {
			fields[i].value = v
			return encodeFields(fields), nil
		}
	}
	return encodeFields(append(fields, field{key, v})), nil
}

// deleteJSONField removes key from a JSON object; it reports whether the key was there.
func deleteJSONField(obj []byte, key string) ([]byte, bool, error) {
	fields, err := objectFields(obj)
	if err != nil {
		return nil, false, err
	}
	kept := fields[:0]
	for _, f := range fields {
		if f.key != key {
			kept = append(kept, f)
		}
	}
	return encodeFields(kept), len(kept) < len(fields), nil
}
