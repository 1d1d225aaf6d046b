package health

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hydrakit/hydrakit/umf"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Entry is one element of Hydra's health log, in Node's field order.
type Entry struct {
	TS          string `json:"ts"`
	ServiceName string `json:"serviceName"`
	Type        string `json:"type"` // the go-kit level: error, warn, info, debug
	ProcessID   int    `json:"processID"`
	Msg         string `json:"msg"`
}

func (r *Recorder) recordedLevel(keyvals []interface{}) (string, bool) {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] != level.Key() {
			continue
		}
		var name string
		switch v := keyvals[i+1].(type) {
		case level.Value:
			name = v.String()
		case string:
			name = v
		default:
			return "", false
		}
		for _, l := range r.levels {
			if l == name {
				return name, true
			}
		}
		return "", false
	}
	return "", false
}

// message renders an event as one line: the msg value first, then the other pairs in logfmt
// (level and ts are dropped: the entry has its own type and ts).
func message(keyvals []interface{}) string {
	var msg string
	rest := make([]interface{}, 0, len(keyvals))
	for i := 0; i < len(keyvals); i += 2 {
		k := keyvals[i]
		var v interface{} = log.ErrMissingValue
		if i+1 < len(keyvals) {
			v = keyvals[i+1]
		}
		switch k {
		case level.Key(), "ts":
			continue
		case "msg":
			if msg == "" {
				msg = fmt.Sprint(v)
				continue
			}
		}
		rest = append(rest, k, v)
	}
	if len(rest) == 0 {
		return msg
	}
	var buf bytes.Buffer
	_ = log.NewLogfmtLogger(&buf).Log(rest...)
	pairs := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if msg == "" {
		return string(pairs)
	}
	return msg + " " + string(pairs)
}

// encodeEntry marshals like JavaScript's JSON.stringify: no HTML escaping, and U+2028 and U+2029
// written as they are (umf.Normalize undoes encoding/json's escapes of them).
func encodeEntry(e Entry) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e) // an Entry of strings and an int always encodes
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.Contains(out, []byte(`\u202`)) {
		if norm, err := umf.Normalize(out); err == nil {
			out = norm
		}
	}
	return string(out)
}
