package config

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
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

	last        [sha256.Size]byte // hash of version and document of the last event
	seen        bool              // an event (not a removal) has been delivered
	lastVersion string            // version of the last document delivered when following the latest
	cancel      context.CancelFunc
	done        chan struct{}
}

// WatchOption configures a Watcher.
type WatchOption func(*Watcher)

// WatchInterval is the time between polls. Default 5 s.
func WatchInterval(d time.Duration) WatchOption { return func(w *Watcher) { w.interval = d } }

// WatchLogger receives poll failures (Redis unreachable, a document that is not JSON).
// Default: a nop logger.
func WatchLogger(l log.Logger) WatchOption { return func(w *Watcher) { w.logger = l } }

// Watch polls version of service's configuration; an empty version follows the latest version
// (Latest), so pushing 1.3.0 after 1.2.0 is a change. Watch polls once before returning and, if a
// document exists, calls fn with it from Watch itself; afterwards fn is called from the watcher's
// goroutine, never concurrently, for every change of document or version and for removals. Identical
// documents written again cause no event. Stop the watcher when done.
func (s *Store) Watch(service, version string, fn func(Event), options ...WatchOption) (*Watcher, error) {
	if version == "" {
		if _, err := keyspace.ValidateService(service); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidLabel, err)
		}
	} else if err := validate(service, version); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, fmt.Errorf("%w: nil callback", ErrInvalidOption)
	}
	w := &Watcher{
		store: s, service: service, version: version, fn: fn,
		interval: 5 * time.Second, logger: log.NewNopLogger(), done: make(chan struct{}),
	}
	for _, o := range options {
		o(w)
	}
	if w.interval <= 0 {
		return nil, fmt.Errorf("%w: watch interval %v", ErrInvalidOption, w.interval)
	}
	w.logger = log.With(w.logger, "service", service)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.poll(ctx)
	go w.loop(ctx)
	return w, nil
}

// Stop ends polling and waits until the goroutine (and any callback it runs) has returned.
func (w *Watcher) Stop() {
	w.cancel()
	<-w.done
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
