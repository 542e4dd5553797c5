package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/internal/logthrottle"
)

// deliveryStore is what the deliverer needs of the store.
type deliveryStore interface {
	Claim(ctx context.Context, req ClaimRequest) ([]Delivery, error)
	Complete(ctx context.Context, c Completion) error
	Retry(ctx context.Context, r RetryRequest) error
	DeadLetter(ctx context.Context, d DeadLetterRequest) error
}

// ticketWriter is what the deliverer needs of COC.
type ticketWriter interface {
	CreateIssueTicket(ctx context.Context, req client.CreateTicketRequest) (client.CreateTicketResult, error)
	FindTicketsBySourceID(ctx context.Context, sourceID string) ([]client.Ticket, error)
	GetTicket(ctx context.Context, ticketID string) (client.Ticket, error)
	ChangeLevel(ctx context.Context, r client.ChangeLevelRequest) error
	CancelTicket(ctx context.Context, r client.CancelTicketRequest) error
	SubmitSolution(ctx context.Context, r client.SubmitSolutionRequest) error
}

// outageObserver is told how each attempt went (the prober in recovery.go).
type outageObserver interface {
	// attemptFailed: COC was unavailable (see client.Unavailable).
	attemptFailed(now time.Time)
	// attemptEnded: the attempt says neither that COC is down nor back.
	attemptEnded(now time.Time)
	// succeeded: COC answered with success.
	succeeded(ctx context.Context)
}

// delivererOptions configures a deliverer. Store, Mapper and Metrics are
// required, COC unless DryRun is set; durations must be positive.
type delivererOptions struct {
	Store  deliveryStore
	COC    ticketWriter
	Mapper Mapper
	DryRun bool
	// ReplicaID prefixes the lease owner of each worker.
	ReplicaID string
	Workers   int
	// Lease is how long a claimed item is held; an attempt is cut off at
	// half of it.
	Lease        time.Duration
	PollInterval time.Duration
	// RetryBaseDelay and RetryMaxDelay are the outbox backoff (see
	// Options); an unclear create's lookups follow the mapping's lookup
	// schedule instead.
	RetryBaseDelay, RetryMaxDelay time.Duration
	// Terminal decides which tickets are finished; those are never
	// adopted.
	Terminal TerminalStatuses
	// Outage is told each attempt's result (nil: nobody).
	Outage     outageObserver
	NowFunc    func() time.Time
	JitterFunc func(time.Duration) time.Duration
	Logger     *zap.Logger
	Metrics    *metrics
}

// deliverer runs the delivery workers: claim a due item, perform its
// operation (operation.go), classify the result (outcome.go), record it.
// The store guarantees no two workers, in this process or another, hold the
// same item.
type deliverer struct {
	opts delivererOptions
	log  *zap.Logger
	m    *metrics
	wake *broadcast
	// logs rate-limits failure lines per key and cause.
	logs *logthrottle.Throttle
}

func newDeliverer(opts delivererOptions) *deliverer {
	if opts.Outage == nil {
		opts.Outage = noOutage{}
	}
	log := opts.Logger.Named("delivery")
	return &deliverer{opts: opts, log: log, m: opts.Metrics, wake: newBroadcast(),
		logs: logthrottle.New(log, logthrottle.Options{Now: opts.NowFunc})}
}

// Wake makes idle workers look for due items at once.
func (dl *deliverer) Wake() { dl.wake.notify() }

// run runs the workers until ctx ends. Deliveries run under deliverCtx,
// which outlives ctx by the shutdown grace period, so a stop lets an
// in-flight create finish and be recorded. run returns when every worker
// has.
func (dl *deliverer) run(ctx, deliverCtx context.Context) {
	var wg sync.WaitGroup
	for i := range dl.opts.Workers {
		owner := fmt.Sprintf("%s/%d", dl.opts.ReplicaID, i)
		w := &worker{dl: dl, owner: owner, log: dl.log.With(zap.String("worker", owner))}
		wg.Go(func() { w.run(ctx, deliverCtx) })
	}
	wg.Wait()
}

// worker claims due outbox items one at a time and delivers them.
type worker struct {
	dl    *deliverer
	owner string
	log   *zap.Logger
}

func (w *worker) run(ctx, deliverCtx context.Context) {
	o := w.dl.opts
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		woken := w.dl.wake.wait() // before Claim, so a wake during Claim is not missed
		if ctx.Err() != nil {
			return
		}
		// The claim runs under deliverCtx: a stop that begins meanwhile
		// must not cancel it half way, when the engine may have committed
		// the lease but not returned the item, which would then wait for
		// the next run to take it back as possibly sent.
		items, err := o.Store.Claim(deliverCtx, ClaimRequest{
			Owner: w.owner, Limit: 1, Lease: o.Lease, Now: o.NowFunc(),
		})
		if err != nil {
			w.dl.m.storeErrors.WithLabelValues("claim").Inc()
			w.logFailure("claim outbox items", err)
		}
		// What was claimed is delivered even when a stop began meanwhile:
		// otherwise it would wait a whole lease for another worker.
		for _, d := range items {
			w.deliver(deliverCtx, d)
		}
		if ctx.Err() != nil {
			return
		}
		if len(items) > 0 {
			continue
		}
		poll.Reset(o.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-woken:
		case <-poll.C:
		}
	}
}

// deliver makes one attempt at d's operation and records the result. It
// never returns an error: every outcome is written to the store, counted
// and logged here.
func (w *worker) deliver(ctx context.Context, d Delivery) {
	log := w.log.With(zap.String("key", d.Key), zap.String("receiver", d.Receiver), zap.String("kind", string(d.Kind)),
		zap.Int("attempt", d.Attempts), zap.Int64("item", d.ID))
	// Finish well before the lease ends, so no other replica takes the item
	// over while this attempt may still change COC.
	attemptCtx, cancel := context.WithTimeout(ctx, w.dl.opts.Lease/2)
	defer cancel()
	p, err := w.dl.operationFor(d).perform(attemptCtx, d, log)
	switch o := outcome(err, attemptCtx.Err()); o {
	case OutcomeDone:
		w.complete(d, log, p)
		if p.reachedCOC() {
			w.dl.opts.Outage.succeeded(ctx)
		}
	case OutcomeDead:
		if reachedCOC(err) {
			w.dl.opts.Outage.attemptEnded(w.dl.opts.NowFunc())
		}
		w.dead(d, log, err)
	default:
		w.retry(ctx, d, log, err, o)
	}
}

// storeCtx bounds a store write made after an attempt; it does not depend on
// the attempt's context, which may have been cancelled by a shutdown.
func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// recorded reports whether the store write err of operation op took
// effect, and counts and logs it when not. lost is logged when the lease
// was lost meanwhile, failed when the write failed.
func (w *worker) recorded(kind Kind, err error, op string, log *zap.Logger, lost func(), failed string) bool {
	switch {
	case errors.Is(err, ErrLeaseLost):
		w.dl.m.deliveries.WithLabelValues(kindLabel(kind), deliveryLeaseLost).Inc()
		lost()
		return false
	case err != nil:
		w.dl.m.storeErrors.WithLabelValues(op).Inc()
		log.Error(failed, zap.Error(err))
		return false
	}
	return true
}

func (w *worker) complete(d Delivery, log *zap.Logger, p performed) {
	now := w.dl.opts.NowFunc()
	ctx, cancel := storeCtx()
	defer cancel()
	err := w.dl.opts.Store.Complete(ctx, Completion{
		ID: d.ID, Owner: w.owner, Kind: d.Kind, TicketID: p.TicketID, Level: p.Level, Finished: p.Finished,
		Title: p.Title, Adopted: p.Result == deliveryAdopted, Now: now,
	})
	log = log.With(zap.String("ticket_id", p.TicketID), zap.String("decision", p.Result))
	// When the write fails, the ticket exists in COC but is not recorded:
	// the lease expires and the next attempt looks it up by source_id and
	// adopts it (an action is sent again, which is safe).
	if !w.recorded(d.Kind, err, "complete", log, func() {
		log.Error("operation done after the lease was lost; recorded if the key was still pending", zap.Error(err))
	}, "record the operation; the next attempt will adopt the ticket or act again") {
		return
	}
	m := w.dl.m
	m.deliveries.WithLabelValues(kindLabel(d.Kind), p.Result).Inc()
	if d.Kind == KindCreate {
		m.deliveryLatency.Observe(max(0, now.Sub(d.AcceptedAt).Seconds()))
	}
	switch p.Result {
	case deliveryCreated:
		m.ticketsCreated.Inc()
		log.Info("ticket created", zap.String("previous_ticket_id", d.PreviousTicketID), zap.String("level", p.Level))
	case deliveryAdopted:
		m.ticketsAdopted.Inc()
		log.Info("ticket adopted: found in COC by source_id after an unclear attempt")
	case deliverySent:
		log.Info(sentMessage(d), zap.String("level", p.Level), zap.String("coc_level", d.CocLevel))
	case deliveryReleased:
		log.Info("COC reports the ticket finished; the key is released and the next firing opens a new ticket",
			zap.String("status", p.Finished))
	}
}

// sentMessage is the log line of an action COC took.
func sentMessage(d Delivery) string {
	switch d.Kind {
	case KindLevel:
		return "ticket level changed in COC"
	case KindCancel:
		return "unaccepted ticket cancelled in COC: every alert of its group resolved"
	case KindSolution:
		return "solution submitted in COC: every alert of the group resolved"
	}
	return "operation sent to COC"
}

// retry reschedules the item after a transient failure, an unclear create
// or an empty lookup (o is OutcomeRetry, OutcomeLookupThenRetry or
// OutcomeLookupLater).
func (w *worker) retry(ctx context.Context, d Delivery, log *zap.Logger, err error, o Outcome) {
	opts := w.dl.opts
	now := opts.NowFunc()
	req := RetryRequest{
		ID: d.ID, Owner: w.owner, NextAttempt: now.Add(retryDelay(d.Attempts, opts.RetryBaseDelay, opts.RetryMaxDelay, opts.JitterFunc)),
		LastError: err.Error(), LookupFirst: d.LookupFirst, LookupsDone: d.LookupsDone, UnclearSince: d.UnclearSince, Now: now,
	}
	var later *lookupLater
	switch {
	case o == OutcomeLookupThenRetry:
		// The create may have landed: its lookups start now, on schedule.
		at, _ := NextLookup(opts.Mapper.Lookups().Schedule, now, 0)
		req.NextAttempt, req.LookupFirst, req.LookupsDone, req.UnclearSince = at, true, 0, &now
	case errors.As(err, &later):
		since := later.since
		req.NextAttempt, req.LookupsDone, req.UnclearSince = later.at, later.done, &since
	}
	switch {
	case o == OutcomeLookupLater:
		opts.Outage.succeeded(ctx) // COC answered the lookup
	case client.Unavailable(err):
		opts.Outage.attemptFailed(now)
	default:
		opts.Outage.attemptEnded(now)
	}
	sctx, cancel := storeCtx()
	defer cancel()
	serr := opts.Store.Retry(sctx, req)
	if !w.recorded(d.Kind, serr, "retry", log, func() {
		log.Warn("attempt failed and the lease was lost meanwhile", zap.Error(err))
	}, "reschedule outbox item; it is retried when its lease expires") {
		return
	}
	delay := req.NextAttempt.Sub(now)
	if o == OutcomeLookupLater {
		w.dl.m.deliveries.WithLabelValues(kindLabel(d.Kind), deliveryLookupEmpty).Inc()
		log.Info("no ticket found by source_id yet after an unclear create; the key stays pending until the next lookup",
			zap.Int("lookups_done", later.done), zap.Int("lookups", later.of), zap.Duration("next_lookup_in", delay))
		return
	}
	w.dl.m.deliveries.WithLabelValues(kindLabel(d.Kind), deliveryRetry).Inc()
	fields := []zap.Field{zap.Error(err), zap.String("decision", o.String()), zap.Duration("retry_in", delay),
		zap.String("class", client.Classify(err).String())}
	fields = append(fields, zap.String("receiver", d.Receiver), zap.String("kind", string(d.Kind)), zap.Int("attempt", d.Attempts),
		zap.Int64("item", d.ID), zap.String("worker", w.owner))
	if !w.dl.logs.Warn(d.Key, errorCode(err), "ticket delivery failed; will retry", fields...) {
		log.Debug("ticket delivery failed again; will retry", fields...)
	}
}

// dead dead-letters the item after a permanent failure.
func (w *worker) dead(d Delivery, log *zap.Logger, cause error) {
	code, msg := deadReason(cause)
	ctx, cancel := storeCtx()
	defer cancel()
	err := w.dl.opts.Store.DeadLetter(ctx, DeadLetterRequest{
		ID: d.ID, Owner: w.owner, Code: code, Message: msg, Now: w.dl.opts.NowFunc(),
	})
	if !w.recorded(d.Kind, err, "dead_letter", log, func() {
		log.Warn("permanent failure but the lease was lost meanwhile", zap.String("code", code), zap.String("error", msg))
	}, "dead-letter outbox item; it is retried when its lease expires") {
		return
	}
	w.dl.m.deliveries.WithLabelValues(kindLabel(d.Kind), deliveryDead).Inc()
	w.dl.m.deadLetters.Inc()
	log.Error("ticket delivery failed permanently; dead-lettered until replayed (coc-bridge outbox replay)",
		zap.String("decision", deliveryDead), zap.String("code", code), zap.String("error", msg))
}

// logFailure logs a background failure at warn, once a minute per cause
// (a flood of one failure does not drown the log; the next line says how
// many were suppressed).
func (w *worker) logFailure(what string, err error) {
	w.dl.logs.Warn("", what+": "+errorCode(err), what, zap.Error(err), zap.String("worker", w.owner))
}

// broadcast wakes every waiting worker at once.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// wait returns a channel closed by the next notify.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}

// noOutage is the outageObserver of a deliverer without outage recovery.
type noOutage struct{}

func (noOutage) attemptFailed(time.Time)   {}
func (noOutage) attemptEnded(time.Time)    {}
func (noOutage) succeeded(context.Context) {}
