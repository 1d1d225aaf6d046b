package metrics

import (
	"reflect"

	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/discard"
)

// Set holds the metrics of every hydrakit component. A field left nil discards its values (see
// Complete).
type Set struct {
	Transport Transport
	Discovery Discovery
	Queue     Queue
	Health    Health
	Recorder  Recorder
}

// Transport is what transport/redispubsub reports. The label "service" is the service a request is
// sent to (Requests … InFlight) or the Conn's own service (the rest).
type Transport struct {
	Requests        kitmetrics.Counter   // requests sent, labels: service
	Replies         kitmetrics.Counter   // replies received to them (error replies included), labels: service
	Errors          kitmetrics.Counter   // requests that failed, labels: service, kind (see ErrorKinds)
	RequestDuration kitmetrics.Histogram // seconds from send to reply or failure, labels: service
	InFlight        kitmetrics.Gauge     // requests waiting for their reply, labels: service
	PublishBatch    kitmetrics.Histogram // messages per PUBLISH round trip, labels: service
	Handled         kitmetrics.Counter   // messages handed to a handler, labels: service
	Dropped         kitmetrics.Counter   // messages dropped, labels: service, reason (see DropReasons)
	Reconnects      kitmetrics.Counter   // new subscriptions after one was lost, labels: service
	Panics          kitmetrics.Counter   // handlers that panicked, labels: service
}

// ErrorKinds are the values of the kind label of Transport.Errors.
var ErrorKinds = []string{
	"timeout", "canceled", "no_responders", "no_instances", "remote", "connection_lost",
	"too_many_pending", "closed", "publish", "bad_address", "decode", "other",
}

// DropReasons are the values of the reason label of Transport.Dropped; "busy" is a busy rejection
// (answered 503).
var DropReasons = []string{"malformed", "unhandled", "busy", "forged", "foreign", "orphan", "duplicate"}

// Discovery is what sd/redis reports, per followed service (label "service").
type Discovery struct {
	Instances       kitmetrics.Gauge   // live instances, labels: service
	Events          kitmetrics.Counter // states pushed to the Instancers, labels: service
	LookupErrors    kitmetrics.Counter // reads of the live set that failed, labels: service
	WatchReconnects kitmetrics.Counter // resubscriptions to the join/leave channel, labels: service
}

// Queue is what package queue reports, per queue (label "queue", a service name).
type Queue struct {
	Enqueued        kitmetrics.Counter // messages a Producer enqueued, labels: queue
	Fetched         kitmetrics.Counter // messages a Consumer leased, labels: queue
	Completed       kitmetrics.Counter // messages completed, labels: queue
	Retried         kitmetrics.Counter // messages scheduled for another attempt, labels: queue
	DeadLettered    kitmetrics.Counter // messages moved to the incomplete list, labels: queue
	Recovered       kitmetrics.Counter // messages taken back from expired leases or orphaned, labels: queue
	LeaseExtensions kitmetrics.Counter // leases renewed by a heartbeat, labels: queue
	Depth           kitmetrics.Gauge   // list lengths (queue.Monitor), labels: queue, list
	OldestAge       kitmetrics.Gauge   // seconds the oldest message has waited (queue.Monitor), labels: queue, list
}

// QueueLists are the values of the list label of Queue.Depth (OldestAge has received and
// in_progress only).
var QueueLists = []string{"received", "in_progress", "incomplete", "delayed"}

// Health is what health.Reporter reports with each snapshot.
type Health struct {
	CheckUp kitmetrics.Gauge // 1 when the check passed, 0 when it failed, labels: service, check
	Status  kitmetrics.Gauge // 1 for the instance's current status, 0 for the others, labels: service, status
}

// Recorder is what health.Recorder reports.
type Recorder struct {
	Entries kitmetrics.Counter // entries written to the health log, labels: service
	Dropped kitmetrics.Counter // entries dropped (buffer full, Redis unavailable), labels: service
}

// Discard returns a Set whose metrics drop every value: the default of a client.
func Discard() *Set { return (&Set{}).Complete() }

var (
	counterType   = reflect.TypeFor[kitmetrics.Counter]()
	gaugeType     = reflect.TypeFor[kitmetrics.Gauge]()
	histogramType = reflect.TypeFor[kitmetrics.Histogram]()
)

// Complete returns a copy of s in which every nil metric discards its values.
func (s *Set) Complete() *Set {
	c := *s
	groups := reflect.ValueOf(&c).Elem()
	for i := range groups.NumField() {
		group := groups.Field(i)
		for j := range group.NumField() {
			f := group.Field(j)
			if !f.IsNil() {
				continue
			}
			switch f.Type() {
			case counterType:
				f.Set(reflect.ValueOf(discard.NewCounter()))
			case gaugeType:
				f.Set(reflect.ValueOf(discard.NewGauge()))
			case histogramType:
				f.Set(reflect.ValueOf(discard.NewHistogram()))
			}
		}
	}
	return &c
}
