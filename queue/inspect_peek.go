package queue

import (
	"context"
	"fmt"
	"slices"

	"github.com/hydrakit/hydrakit/umf"
)

// Received lists up to count messages waiting in service's received list from position start, next
// in line first (consumers take from the list's right end, so the next one is its last element). It
// reads without taking: a consumer may take any of them the moment after.
func (i *Inspector) Received(ctx context.Context, service string, start, count int64) ([]Item, error) {
	k, err := i.keys(service)
	if err != nil {
		return nil, err
	}
	return i.fromRight(ctx, k.received, start, count, "received")
}

// InProgress lists up to count messages being processed from position start, the longest-held first
// (consumers move work onto the list's left end). Messages held by Node consumers or by consumers that
// died are there too: Stats.Leased says how many are under a Go consumer's lease.
func (i *Inspector) InProgress(ctx context.Context, service string, start, count int64) ([]Item, error) {
	k, err := i.keys(service)
	if err != nil {
		return nil, err
	}
	return i.fromRight(ctx, k.inProgress, start, count, "in progress")
}

// fromRight reads count elements of the list key from position start counted from its right end, in
// that order. start < 0 or count < 1 reads nothing.
func (i *Inspector) fromRight(ctx context.Context, key string, start, count int64, what string) ([]Item, error) {
	if start < 0 || count < 1 {
		return []Item{}, nil
	}
	raws, err := i.rdb.LRange(ctx, key, -(start + count), -(start + 1)).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: list %s: %w", what, err)
	}
	slices.Reverse(raws)
	items := make([]Item, len(raws))
	for n, raw := range raws {
		items[n].Raw = []byte(raw)
		if m, err := umf.Unmarshal(items[n].Raw); err == nil {
			items[n].Message = m
		}
	}
	return items, nil
}
