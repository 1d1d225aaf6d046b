package wsgate

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/hydrakit/hydrakit/umf"
)

// client is one socket. Its ID changes when it reconnects to an earlier ID; the gateway's mutex
// guards id and the gateway's map.
type client struct {
	g          *Gateway
	ws         *websocket.Conn
	ip         string
	authorized bool // opened with the router token (or none is set)
	id         string

	ctx      context.Context // ends with the socket
	cancel   context.CancelFunc
	inflight chan struct{}
	out      chan frame
	wrote    chan struct{} // closed when the writer has ended

	qmu    sync.Mutex
	qbytes int
	gone   bool // no more frames are taken
}

// frame is one message on its way to the socket. keep: it goes to the reconnect queue if the
// socket leaves before it is written. last: the socket is closed with status after it.
type frame struct {
	id     string // the client ID it was meant for (keep)
	data   []byte
	keep   bool
	status websocket.StatusCode
	reason string
}

func (g *Gateway) newClient(ws *websocket.Conn, ip string, authorized bool) *client {
	ctx, cancel := context.WithCancel(g.ctx)
	c := &client{
		g: g, ws: ws, ip: ip, authorized: authorized, ctx: ctx, cancel: cancel,
		inflight: make(chan struct{}, g.cfg.maxInFlight),
		out:      make(chan frame, g.cfg.sendQueue),
		wrote:    make(chan struct{}),
	}
	return c
}

// newClientID returns a random base-36 ID like hydra's Utils.shortID (no '-', which would split a
// via address).
func newClientID() string {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 56))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Text(36)
}

// serve registers the client, greets it and reads its frames until it leaves; it runs on the
// ServeHTTP goroutine.
func (c *client) serve() {
	g := c.g
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		_ = c.ws.Close(websocket.StatusGoingAway, "router closing")
		return
	}
	id := newClientID()
	for g.clients[id] != nil {
		id = newClientID()
	}
	c.id = id
	g.clients[id] = c
	g.wg.Add(1)
	g.mu.Unlock()
	g.stats.accepted.Add(1)
	go func() {
		defer g.wg.Done()
		c.write()
	}()
	g.announce("wsdir.add", map[string]any{"routerID": g.iid, "clientID": id})
	c.greet()
	c.read()
	c.shutdown()
}

// greet sends the connection message.
func (c *client) greet() {
	c.g.mu.Lock()
	id := c.id
	c.g.mu.Unlock()
	msg := c.g.message(id+"@client:/", c.g.self, "connection")
	_ = msg.SetBody(map[string]any{"id": id, "ip": c.ip})
	c.sendMessage(msg, false)
}

func (c *client) read() {
	for {
		_, data, err := c.ws.Read(c.ctx)
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				c.g.stats.oversized.Add(1)
			}
			return
		}
		c.g.stats.framesIn.Add(1)
		if !c.g.handleFrame(c, data) {
			// The error frame goes out first, then the socket is closed (by the writer).
			select {
			case <-c.wrote:
			case <-c.ctx.Done():
			case <-time.After(c.g.cfg.writeTimeout):
			}
			return
		}
	}
}

// write writes frames in order until the socket leaves or a last frame closes it.
func (c *client) write() {
	defer close(c.wrote)
	for {
		select {
		case f := <-c.out:
			c.release(len(f.data))
			ctx, cancel := context.WithTimeout(c.ctx, c.g.cfg.writeTimeout)
			err := c.ws.Write(ctx, websocket.MessageText, f.data)
			cancel()
			if err != nil {
				c.requeue(f)
				c.cancel()
				_ = c.ws.CloseNow()
				return
			}
			c.g.stats.framesOut.Add(1)
			if f.status != 0 {
				c.close(f.status, f.reason)
				return
			}
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *client) release(n int) {
	c.qmu.Lock()
	c.qbytes -= n
	c.qmu.Unlock()
}

// send queues f for the socket without waiting. A full queue (GatewaySendQueue) disconnects the
// client as too slow; false means f was not taken (the socket is gone or too slow), and the caller
// keeps what must be kept.
func (c *client) send(f frame) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.gone {
		return false
	}
	// One frame larger than the byte bound still goes to an idle socket.
	if c.qbytes+len(f.data) <= c.g.cfg.sendQueueBytes || c.qbytes == 0 {
		select {
		case c.out <- f:
			c.qbytes += len(f.data)
			return true
		default:
		}
	}
	c.g.stats.slow.Add(1)
	c.g.logger.Log("msg", "client too slow, disconnected", "client", f.id)
	c.gone = true
	c.g.goroutine(func() { c.close(websocket.StatusPolicyViolation, "send queue full") })
	return false
}

// sendWait queues f, waiting while the queue is full (used to drain the reconnect queue, which must
// follow the client's pace); false when the socket left first.
func (c *client) sendWait(f frame) bool {
	for {
		c.qmu.Lock()
		if c.gone {
			c.qmu.Unlock()
			return false
		}
		if c.qbytes+len(f.data) <= c.g.cfg.sendQueueBytes || c.qbytes == 0 {
			select {
			case c.out <- f:
				c.qbytes += len(f.data)
				c.qmu.Unlock()
				return true
			default:
			}
		}
		c.qmu.Unlock()
		select {
		case <-c.ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// sendMessage marshals msg for the socket; keep as in frame.
func (c *client) sendMessage(msg *umf.Message, keep bool) bool {
	data, err := msg.Marshal()
	if err != nil {
		c.g.logger.Log("msg", "encode a frame", "mid", msg.MID, "err", err)
		return true
	}
	c.g.mu.Lock()
	id := c.id
	c.g.mu.Unlock()
	return c.send(frame{id: id, data: data, keep: keep})
}

// close ends the socket with a close handshake (bounded by coder/websocket's own timeout).
func (c *client) close(status websocket.StatusCode, reason string) {
	c.qmu.Lock()
	c.gone = true
	c.qmu.Unlock()
	_ = c.ws.Close(status, reason)
	c.cancel()
}

// kick closes the socket from outside its goroutines (Close, a reconnect taking its ID).
func (c *client) kick(status websocket.StatusCode, reason string) {
	c.qmu.Lock()
	c.gone = true
	c.qmu.Unlock()
	c.cancel()
	_ = c.ws.Close(status, reason)
}

// shutdown runs once the reader has ended: the client leaves the gateway and the directory, and the
// frames it had not been sent that must be kept go to its reconnect queue.
func (c *client) shutdown() {
	g := c.g
	c.qmu.Lock()
	c.gone = true
	c.qmu.Unlock()
	c.cancel()
	<-c.wrote
	_ = c.ws.CloseNow()
	g.mu.Lock()
	id := c.id
	mine := g.clients[id] == c
	if mine {
		delete(g.clients, id)
	}
	g.mu.Unlock()
	for {
		select {
		case f := <-c.out:
			c.requeue(f)
			continue
		default:
		}
		break
	}
	if mine {
		g.markGone(id)
		g.announce("wsdir.del", map[string]any{"routerID": g.iid, "clientID": id})
	}
}

// requeue puts an unwritten frame that must be kept into its client's reconnect queue.
func (c *client) requeue(f frame) {
	if !f.keep {
		return
	}
	c.g.enqueueRaw(f.id, f.data, false)
}
