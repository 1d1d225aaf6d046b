package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/keyspace"
)

// Store reads and writes the configs hashes of any number of services. It holds no state besides
// its client and is safe for concurrent use.
type Store struct {
	redis  goredis.UniversalClient
	keys   keyspace.Scheme
	logger log.Logger
}

// NewStore returns a Store on the client's Redis and keyspace. Watchers log to the client's logger.
// A nil client is refused with an error wrapping ErrConfig.
func NewStore(client *hydrakit.Client) (*Store, error) {
	st := fleet.Of(client)
	if st == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	return &Store{redis: st.Redis, keys: st.Keys, logger: st.Logger}, nil
}

// ParseLabel splits a Node Hydra / hydra-cli label "service:version" into its parts. Like Node, it
// accepts exactly one colon.
func ParseLabel(label string) (service, version string, err error) {
	parts := strings.Split(label, ":")
	if len(parts) != 2 {
		return "", "", fmt.Errorf("%w: label %q not in the form service:version", ErrInvalidLabel, label)
	}
	if err := validate(parts[0], parts[1]); err != nil {
		return "", "", err
	}
	return parts[0], parts[1], nil
}

// Label joins service and version into the label Node Hydra's getConfig and hydra-cli take.
func Label(service, version string) string { return service + ":" + version }

// validate checks what Node could reach: a service name Hydra accepts and a non-empty version without
// a colon. Unlike registration, config labels are not lower-cased by Node, so neither are they here.
func validate(service, version string) error {
	if _, err := keyspace.ValidateService(service); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLabel, err)
	}
	if version == "" || strings.ContainsAny(version, ": \t\r\n") {
		return fmt.Errorf("%w: version %q", ErrInvalidLabel, version)
	}
	return nil
}

// Put stores doc, encoded as JSON, as the given version of service's configuration, replacing any
// document of that version (HSET, as Node's putConfig and hydra-cli cfg push), in the bytes Node's
// JSON.stringify writes for the same value. Pass a json.RawMessage to store JSON bytes as they are
// (compacted).
func (s *Store) Put(ctx context.Context, service, version string, doc any) error {
	if err := validate(service, version); err != nil {
		return err
	}
	body, err := marshal(doc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}
	if string(body) == "null" {
		return fmt.Errorf("%w: null", ErrInvalidDocument)
	}
	return s.redis.HSet(ctx, s.keys.Configs(service), version, body).Err()
}

// marshal encodes v as JSON.stringify would: json.Marshal escapes <, > and & (for HTML) and
// U+2028/U+2029 (for JSONP), JavaScript escapes none of them, and Node's bytes are what every peer
// compares and what hydra-cli's cfg pull shows.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	// The encoder escapes U+2028 and U+2029 even without HTML escaping. A backslash only occurs in a
	// string, as the first byte of an escape, so stepping over whole escapes finds exactly those.
	w := 0
	for r := 0; r < len(out); r++ {
		if out[r] == '\\' && r+1 < len(out) {
			if s := out[r+1:]; len(s) >= 5 && (string(s[:5]) == "u2028" || string(s[:5]) == "u2029") {
				w += utf8.EncodeRune(out[w:], 0x2020+rune(s[4]-'0'))
				r += 5
				continue
			}
			out[w] = out[r]
			w, r = w+1, r+1
		}
		out[w] = out[r]
		w++
	}
	return out[:w], nil
}

// Get returns the JSON document stored as version of service's configuration, or an error wrapping
// ErrNotFound.
func (s *Store) Get(ctx context.Context, service, version string) (json.RawMessage, error) {
	if err := validate(service, version); err != nil {
		return nil, err
	}
	body, err := s.redis.HGet(ctx, s.keys.Configs(service), version).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, Label(service, version))
	}
	if err != nil {
		return nil, err
	}
	return body, nil
}

// Load decodes the document stored as version of service's configuration into v.
func (s *Store) Load(ctx context.Context, service, version string, v any) error {
	body, err := s.Get(ctx, service, version)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidDocument, Label(service, version), err)
	}
	return nil
}

// List returns the versions of service's configuration in Compare order, latest last (Node's
// listConfig sorts as strings and returns labels: 1.10.0 before 1.9.0). Empty when there are none.
func (s *Store) List(ctx context.Context, service string) ([]string, error) {
	if _, err := keyspace.ValidateService(service); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidLabel, err)
	}
	versions, err := s.redis.HKeys(ctx, s.keys.Configs(service)).Result()
	if err != nil {
		return nil, err
	}
	Sort(versions)
	return versions, nil
}

// Latest returns the last version in List order and its document, or an error wrapping ErrNotFound
// when the service has none.
func (s *Store) Latest(ctx context.Context, service string) (version string, doc json.RawMessage, err error) {
	for range 3 { // a version removed between HKEYS and HGET: look again
		versions, err := s.List(ctx, service)
		if err != nil {
			return "", nil, err
		}
		if len(versions) == 0 {
			return "", nil, fmt.Errorf("%w: no versions of %s", ErrNotFound, service)
		}
		version = versions[len(versions)-1]
		doc, err = s.Get(ctx, service, version)
		if !errors.Is(err, ErrNotFound) {
			return version, doc, err
		}
	}
	return "", nil, fmt.Errorf("%w: versions of %s keep changing", ErrNotFound, service)
}

// Remove deletes version from service's configuration (hydra-cli cfg remove), or returns an error
// wrapping ErrNotFound if it was not there.
func (s *Store) Remove(ctx context.Context, service, version string) error {
	if err := validate(service, version); err != nil {
		return err
	}
	n, err := s.redis.HDel(ctx, s.keys.Configs(service), version).Result()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, Label(service, version))
	}
	return nil
}
