package queue

import "github.com/hydrakit/hydrakit/keyspace"

// keys are every Redis key of one service's queue. Hydra's three lists come from the keyspace; the
// rest are hydrakit's own, which Node never reads. With a cluster-safe scheme all share one slot.
type keys struct {
	received   string // list: LPUSH new work, consumers take from the right
	inProgress string // list: work being processed (by Go or Node consumers)
	incomplete string // list: dead letters with bdy.reason
	leases     string // zset: lease token → lease deadline (unix ms)
	leased     string // hash: lease token → the raw message it covers
	delayed    string // zset: "<id>|<raw>" → due time (unix ms), retries and delayed enqueues
	orphans    string // hash: raw → first time (unix ms) it was seen in progress without a lease
	attempts   string // hash: SHA-1 of raw → how often it was handled and failed, while it is retried
	recoveries string // hash: SHA-1 of raw → how often it was taken back from a consumer that died
	counted    string // zset: SHA-1 of raw → when its counts last changed (unix ms), to age them out
}

func newKeys(s keyspace.Scheme, service string) keys {
	return keys{
		received:   s.QueueReceived(service),
		inProgress: s.QueueInProgress(service),
		incomplete: s.QueueIncomplete(service),
		leases:     s.Own(service, "queue", "leases"),
		leased:     s.Own(service, "queue", "leased"),
		delayed:    s.Own(service, "queue", "delayed"),
		orphans:    s.Own(service, "queue", "orphans"),
		attempts:   s.Own(service, "queue", "attempts"),
		recoveries: s.Own(service, "queue", "recoveries"),
		counted:    s.Own(service, "queue", "counted"),
	}
}

// The KEYS of each script, in the order its header lists them.

func (k keys) fetchKeys() []string {
	return []string{k.received, k.inProgress, k.leases, k.leased, k.counted, k.attempts, k.recoveries}
}

func (k keys) recoverKeys() []string {
	return []string{k.leases, k.leased, k.inProgress, k.received, k.counted, k.attempts, k.recoveries}
}

func (k keys) settleKeys() []string {
	return []string{k.leases, k.leased, k.inProgress, k.received, k.delayed, k.incomplete, k.counted,
		k.attempts, k.recoveries}
}
