package config

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/keyspace"
)

// Event tells a watcher's callback what changed.
type Event struct {
	Service string
	Version string          // the version the document belongs to (the new latest, when following it)
	Doc     json.RawMessage // the document; nil when Removed
	Removed bool            // the watched version (or every version) is gone
}

// Watcher polls one version of a service's configuration, or its latest version, and calls its
// callback when the document changes. Redis keyspace notifications are not used: they are often
// disabled and are lost on reconnect, while a poll of one hash field costs one round trip.
type Watcher struct {
	store    *Store
	service  string
	version  string // "" follows Latest
	fn       func(Event)
	interval time.Duration
	logger   log.Logger
	err      error // invalid options, joined

	last        [sha256.Size]byte // hash of version and document of the last event
	seen        bool              // an event (not a removal) has been delivered
	lastVersion string            // version of the last document delivered when following the latest
	cancel      context.CancelFunc
	done        chan struct{}
	closeOnce   sync.Once
}

// defaultWatchInterval is the time between polls without WatchInterval.
const defaultWatchInterval = 5 * time.Second

// WatchOption configures a Watcher. An option left out keeps its default; an invalid value makes
// Watch fail with ErrConfig.
type WatchOption func(*Watcher)

// WatchInterval sets the time between polls (default 5 s). Zero or a negative d is refused.
func WatchInterval(d time.Duration) WatchOption {
	return func(w *Watcher) {
		if d <= 0 {
			w.err = errors.Join(w.err, fmt.Errorf("%w: watch interval %v: want more than 0", ErrConfig, d))
		}
		w.interval = d
	}
}

// Watch polls version of service's configuration; an empty version follows the latest version
// (Latest), so pushing 1.3.0 after 1.2.0 is a change. Watch validates its arguments and options
// (errors wrap ErrConfig, and ErrInvalidLabel for a label), polls once before returning and, if a
// document exists, calls fn with it from Watch itself; afterwards fn is called from the watcher's
// goroutine, never concurrently, for every change of document or version and for removals. Identical
// documents written again cause no event. Poll failures (Redis unreachable, a document that is not
// JSON) go to the client's logger. Close the watcher when done.
func (s *Store) Watch(service, version string, fn func(Event), options ...WatchOption) (*Watcher, error) {
	if version == "" {
		if _, err := keyspace.ValidateService(service); err != nil {
			return nil, fmt.Errorf("%w: %w: %w", ErrConfig, ErrInvalidLabel, err)
		}
	} else if err := validate(service, version); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if fn == nil {
		return nil, fmt.Errorf("%w: nil callback", ErrConfig)
	}
	w := &Watcher{
		store: s, service: service, version: version, fn: fn,
		interval: defaultWatchInterval, done: make(chan struct{}),
	}
	for _, o := range options {
		if o == nil {
			w.err = errors.Join(w.err, fmt.Errorf("%w: nil WatchOption", ErrConfig))
			continue
		}
		o(w)
	}
	if w.err != nil {
		return nil, w.err
	}
	w.logger = log.With(s.logger, "component", "config", "service", service)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.poll(ctx)
	go w.loop(ctx)
	return w, nil
}

// Close ends polling and waits until the goroutine (and any callback it runs) has returned; do not
// call it from the callback. It is idempotent and returns nil: a watcher writes nothing, and its poll
// failures were logged.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		w.cancel()
		<-w.done
	})
	return nil
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			w.poll(ctx)
		}
	}
}

// poll reads the watched document and calls fn if it differs from the last one delivered.
func (w *Watcher) poll(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, max(w.interval, time.Second))
	defer cancel()
	version, doc, err := w.read(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		if w.seen {
			w.seen = false
			w.fn(Event{Service: w.service, Version: version, Removed: true})
		}
		return
	case err != nil:
		if parent.Err() == nil { // not stopping
			_ = w.logger.Log("msg", "config watch poll failed", "err", err)
		}
		return
	case !json.Valid(doc):
		_ = w.logger.Log("msg", "config document is not JSON", "err", ErrInvalidDocument, "version", version)
		return
	}
	h := sha256.New()
	h.Write([]byte(version))
	h.Write([]byte{0})
	h.Write(doc)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	if w.seen && sum == w.last {
		return
	}
	w.last, w.seen = sum, true
	w.fn(Event{Service: w.service, Version: version, Doc: doc})
}

// read returns the watched version and its document. On ErrNotFound the version is the one last
// delivered, so a removal event names what went away.
func (w *Watcher) read(ctx context.Context) (string, json.RawMessage, error) {
	if w.version != "" {
		doc, err := w.store.Get(ctx, w.service, w.version)
		return w.version, doc, err
	}
	version, doc, err := w.store.Latest(ctx, w.service)
	if errors.Is(err, ErrNotFound) {
		return w.lastVersion, nil, err
	}
	if err == nil {
		w.lastVersion = version
	}
	return version, doc, err
}

var _ io.Closer = (*Watcher)(nil) // API check
