package redispubsub

import (
	"context"
	"errors"
	"testing"

	"github.com/go-kit/kit/transport"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

// NewConn refuses, before it subscribes, every argument and option that would fail at run time.
func TestNewConnValidates(t *testing.T) {
	_, rdb := redistest.Mini(t)
	client := fleetOn(t, rdb)
	const id = "0123456789abcdef0123456789abcdef"
	readOnly := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{rdb.Options().Addr}, ReadOnly: true})
	t.Cleanup(func() { _ = readOnly.Close() })
	for _, tc := range []struct {
		name    string
		client  *hydrakit.Client
		service string
		id      string
		opts    []ConnOption
		also    error
	}{
		{"nil client", nil, "calc", id, nil, nil},
		{"bad service", client, "a:b", id, nil, keyspace.ErrInvalidName},
		{"empty service", client, "", id, nil, keyspace.ErrInvalidName},
		{"bad instance", client, "calc", "a-b", nil, keyspace.ErrInvalidName},
		{"zero max pending", client, "calc", id, []ConnOption{ConnMaxPending(0)}, nil},
		{"negative concurrency", client, "calc", id, []ConnOption{ConnConcurrency(-1)}, nil},
		{"zero concurrency", client, "calc", id, []ConnOption{ConnConcurrency(0)}, nil},
		{"zero message size", client, "calc", id, []ConnOption{ConnMaxMessageSize(0)}, nil},
		{"negative error reply rate", client, "calc", id, []ConnOption{ConnErrorReplyRate(-1)}, nil},
		{"nil option", client, "calc", id, []ConnOption{nil}, nil},
		// Its subscriptions would sit on replicas, which no SPUBLISH count includes.
		{"read-only cluster client", fleetOn(t, readOnly), "calc", id, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewConn(tc.client, tc.service, tc.id, tc.opts...)
			if err == nil {
				_ = c.Close()
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("want ErrConfig, have %v", err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("want %v too, have %v", tc.also, err)
			}
		})
	}
}

func TestNewSubscriberValidates(t *testing.T) {
	e, dec, enc := sumEndpoint, decodeSumRequest, EncodeJSONResponse
	for _, tc := range []struct {
		name string
		make func() (*Subscriber, error)
	}{
		{"nil endpoint", func() (*Subscriber, error) { return NewSubscriber(nil, dec, enc) }},
		{"nil decoder", func() (*Subscriber, error) { return NewSubscriber(e, nil, enc) }},
		{"nil encoder", func() (*Subscriber, error) { return NewSubscriber(e, dec, nil) }},
		{"nil before", func() (*Subscriber, error) { return NewSubscriber(e, dec, enc, SubscriberBefore(nil)) }},
		{"nil after", func() (*Subscriber, error) { return NewSubscriber(e, dec, enc, SubscriberAfter(nil)) }},
		{"nil error encoder", func() (*Subscriber, error) { return NewSubscriber(e, dec, enc, SubscriberErrorEncoder(nil)) }},
		{"nil error handler", func() (*Subscriber, error) { return NewSubscriber(e, dec, enc, SubscriberErrorHandler(nil)) }},
		{"nil option", func() (*Subscriber, error) { return NewSubscriber(e, dec, enc, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.make(); !errors.Is(err, ErrConfig) {
				t.Errorf("want ErrConfig, have %v", err)
			}
		})
	}
	if _, err := NewSubscriber(e, dec, enc, SubscriberErrorHandler(transport.ErrorHandlerFunc(func(context.Context, error) {}))); err != nil {
		t.Errorf("a valid Subscriber: %v", err)
	}
}
