package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

var (
	errFull   = errors.New("dashboard: too many event streams")
	errClosed = errors.New("dashboard: closed")
)

// hub fans the snapshot loop's events out to the open streams. The loop never waits for a browser:
// each stream has a small buffer, and a stream whose buffer is full is dropped (the browser's
// EventSource reconnects by itself and gets the newest snapshot first).
type hub struct {
	max int

	mu      sync.Mutex
	streams map[*stream]struct{}
	last    []byte // the newest event, for streams that join
	closed  bool
	wg      sync.WaitGroup // streams being served
}

// stream is one browser's event stream.
type stream struct {
	events chan []byte
	gone   chan struct{} // closed when the hub dropped the stream or closed
}

func newHub(max int) *hub { return &hub{max: max, streams: map[*stream]struct{}{}} }

// join adds a stream, with the newest event already queued. The caller must call leave.
func (h *hub) join() (*stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errClosed
	case len(h.streams) >= h.max:
		return nil, errFull
	}
	s := &stream{events: make(chan []byte, streamBuffer), gone: make(chan struct{})}
	if h.last != nil {
		s.events <- h.last
	}
	h.streams[s] = struct{}{}
	h.wg.Add(1)
	return s, nil
}

func (h *hub) leave(s *stream) {
	h.mu.Lock()
	h.drop(s)
	h.mu.Unlock()
	h.wg.Done()
}

// drop removes s and tells its server to stop (the caller holds h.mu).
func (h *hub) drop(s *stream) {
	if _, ok := h.streams[s]; ok {
		delete(h.streams, s)
		close(s.gone)
	}
}

// broadcast queues event on every stream, dropping those that are behind.
func (h *hub) broadcast(event []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = event
	for s := range h.streams {
		select {
		case s.events <- event:
		default:
			h.drop(s)
		}
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

// close drops every stream and waits until each one's server has returned.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for s := range h.streams {
		h.drop(s)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// encodeEvent frames a snapshot as one Server-Sent Event. JSON has no raw newlines, so the data
// fits on one "data:" line.
func encodeEvent(s Snapshot) []byte {
	data, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Snapshot has only plain fields: this cannot fail
	}
	out := make([]byte, 0, len(data)+len("event: snapshot\ndata: \n\n"))
	out = append(out, "event: snapshot\ndata: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}

// serveEvents streams snapshots to one browser until it goes, lags, or the dashboard closes.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	s, err := d.hub.join()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer d.hub.leave(s)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell proxies in front not to hold events back
	w.WriteHeader(http.StatusOK)
	// The browser reconnects 1 s after a drop, not the default 3 s.
	if !d.write(w, rc, []byte("retry: 1000\n\n")) {
		return
	}
	for {
		select {
		case <-s.gone:
			return
		case <-r.Context().Done():
			return
		case event := <-s.events:
			if !d.write(w, rc, event) {
				return
			}
		}
	}
}

// write sends b and flushes it within the write timeout; a browser that does not read is cut off.
func (d *Dashboard) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(d.cfg.writeTimeout)) // unsupported by some writers: then only the buffer bounds
	if _, err := w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}
