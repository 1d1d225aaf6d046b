package redistest

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Slot is the cluster hash slot of key, as CLUSTER KEYSLOT computes it: CRC16 (XMODEM) modulo 16384 of
// the key, or of its hash tag (the text between the first "{" and the next "}") when that is not empty.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// slotRange is a range of slots and the address of the master serving it.
type slotRange struct {
	start, end int
	master     string
}

// slots asks the first node that answers for CLUSTER SHARDS, and returns each slot range with its
// master, sorted by slot.
func (c *Cluster) slots(tb testing.TB) []slotRange {
	tb.Helper()
	var err error
	for _, n := range c.nodes {
		if n.cmd == nil {
			continue // killed
		}
		rdb := goredis.NewClient(n.Options())
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var shards []goredis.ClusterShard
		shards, err = rdb.ClusterShards(ctx).Result()
		cancel()
		_ = rdb.Close()
		if err == nil {
			return c.ranges(shards)
		}
	}
	tb.Fatalf("redistest: CLUSTER SHARDS: no node answers (%v)", err)
	return nil
}

func (c *Cluster) ranges(shards []goredis.ClusterShard) []slotRange {
	var ranges []slotRange
	for _, sh := range shards {
		for _, node := range sh.Nodes {
			if node.Role != "master" || node.Health != "online" {
				continue
			}
			port := node.Port
			if c.pki != nil {
				port = node.TLSPort
			}
			addr := net.JoinHostPort(node.IP, strconv.FormatInt(port, 10))
			for _, r := range sh.Slots {
				ranges = append(ranges, slotRange{int(r.Start), int(r.End), addr})
			}
		}
	}
	slices.SortFunc(ranges, func(a, b slotRange) int { return a.start - b.start })
	return ranges
}

// node is the node at addr, or nil.
func (c *Cluster) node(addr string) *Server {
	for _, n := range c.nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// NodeForSlot is the master serving slot now, as the cluster says.
func (c *Cluster) NodeForSlot(tb testing.TB, slot int) *Server {
	tb.Helper()
	for _, r := range c.slots(tb) {
		if r.start <= slot && slot <= r.end {
			if n := c.node(r.master); n != nil {
				return n
			}
			tb.Fatalf("redistest: slot %d is served by %s, not a node of this cluster", slot, r.master)
		}
	}
	tb.Fatalf("redistest: slot %d is not served", slot)
	return nil
}

// NodeForKey is the master serving key (or channel: sharded pub/sub hashes channels the same way) now.
func (c *Cluster) NodeForKey(tb testing.TB, key string) *Server {
	tb.Helper()
	return c.NodeForSlot(tb, Slot(key))
}

// Masters are the nodes serving slots now, in slot order.
func (c *Cluster) Masters(tb testing.TB) []*Server {
	tb.Helper()
	var masters []*Server
	for _, r := range c.slots(tb) {
		if n := c.node(r.master); n != nil && !slices.Contains(masters, n) {
			masters = append(masters, n)
		}
	}
	return masters
}
