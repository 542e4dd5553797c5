package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// worker claims due outbox items one at a time and delivers them. Several
// workers run per process; the store guarantees no two hold the same item.
type worker struct {
	b       *Bridge
	owner   string
	log     *zap.Logger
	lastErr string // the last failure logged at warn, to log repeats quietly
}

func (b *Bridge) newWorker(owner string) *worker {
	return &worker{b: b, owner: owner, log: b.log.Named("delivery").With(zap.String("worker", owner))}
}

// run claims and delivers until ctx ends. Deliveries run under deliverCtx,
// which outlives ctx by the shutdown grace period, so a stop lets an
// in-flight create finish and be recorded.
func (w *worker) run(ctx, deliverCtx context.Context) {
	b := w.b
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		woken := b.wake.wait() // before Claim, so a wake during Claim is not missed
		items, err := b.opts.Store.Claim(ctx, ClaimRequest{
			Owner: w.owner, Limit: 1, Lease: b.opts.Lease, Now: b.opts.NowFunc(),
		})
		if err != nil && ctx.Err() == nil {
			b.metrics.storeErrors.WithLabelValues("claim").Inc()
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
		poll.Reset(b.opts.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-woken:
		case <-poll.C:
		}
	}
}

// deliver makes one attempt at creating (or finding) the ticket of d and
// records the result. It never returns an error: every outcome is written
// to the store, counted and logged here.
func (w *worker) deliver(ctx context.Context, d Delivery) {
	b := w.b
	log := w.log.With(zap.String("key", d.Key), zap.String("receiver", d.Receiver),
		zap.Int("attempt", d.Attempts), zap.Int64("item", d.ID))
	// Finish well before the lease ends, so no other replica takes the item
	// over while this attempt may still create a ticket.
	attemptCtx, cancel := context.WithTimeout(ctx, b.opts.Lease/2)
	defer cancel()

	req, err := b.render(d)
	if err != nil {
		w.dead(d, log, "render", err.Error())
		return
	}
	if b.opts.DryRun {
		id := "dry-run-" + d.Key[:min(16, len(d.Key))]
		log.Info("dry run: ticket not sent to COC", zap.String("ticket_id", id),
			zap.String("title", req.Title), zap.String("level", req.Level), zap.String("regions", req.Regions))
		w.complete(d, log, id, deliveryDryRun)
		return
	}
	if d.LookupFirst {
		found, err := b.opts.COC.FindTicketsBySourceID(attemptCtx, d.Key)
		if err != nil {
			w.fail(d, log, fmt.Errorf("look up ticket by source_id: %w", err), failureOutcome(err, false, nil), true)
			return
		}
		if t, ok := adoptable(found, d.Key, d.PreviousTicketID, b.terminal); ok {
			w.complete(d, log, t.TicketID, deliveryAdopted)
			b.deliverySucceeded(ctx)
			return
		}
	}
	res, err := b.opts.COC.CreateIssueTicket(attemptCtx, req)
	if err != nil {
		w.fail(d, log, fmt.Errorf("create ticket: %w", err), failureOutcome(err, true, attemptCtx.Err()), d.LookupFirst)
		return
	}
	w.complete(d, log, res.TicketID, deliveryCreated)
	b.deliverySucceeded(ctx)
}

// render maps the stored notification with the current configuration.
func (b *Bridge) render(d Delivery) (client.CreateTicketRequest, error) {
	msg, err := mapping.Decode(d.Message)
	if err != nil {
		return client.CreateTicketRequest{}, fmt.Errorf("decode stored notification: %w", err)
	}
	t, err := b.opts.Mapper.Map(msg, mapping.MapOptions{PreviousTicketID: d.PreviousTicketID})
	if err != nil {
		return client.CreateTicketRequest{}, fmt.Errorf("render ticket: %w", err)
	}
	return ticketRequest(t), nil
}

// ticketRequest converts a mapped ticket to COC's create body.
func ticketRequest(t mapping.Ticket) client.CreateTicketRequest {
	return client.CreateTicketRequest{
		Title:                 t.Title,
		Description:           t.Description,
		EnterpriseProject:     t.EnterpriseProject,
		TicketType:            t.TicketType,
		VirtualScheduleType:   t.VirtualScheduleType,
		IssueContactPerson:    t.IssueContactPerson,
		ScheduleScenes:        t.ScheduleScenes,
		VirtualScheduleRole:   t.VirtualScheduleRole,
		Level:                 t.Level,
		Source:                t.Source,
		SourceID:              t.SourceID,
		Regions:               t.Regions,
		FountTime:             t.FountTime,
		RootCauseCloudService: t.RootCauseCloudService,
		IsStartProcess:        t.IsStartProcess,
	}
}

// storeCtx bounds a store write made after an attempt; it does not depend on
// the attempt's context, which may have been cancelled by a shutdown.
func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (w *worker) complete(d Delivery, log *zap.Logger, ticketID, result string) {
	b := w.b
	now := b.opts.NowFunc()
	ctx, cancel := storeCtx()
	defer cancel()
	err := b.opts.Store.Complete(ctx, Completion{
		ID: d.ID, Owner: w.owner, TicketID: ticketID, Adopted: result == deliveryAdopted, Now: now,
	})
	log = log.With(zap.String("ticket_id", ticketID), zap.String("decision", result))
	switch {
	case errors.Is(err, ErrLeaseLost):
		b.metrics.deliveries.WithLabelValues(deliveryLeaseLost).Inc()
		log.Error("ticket created after the lease was lost; recorded if the key was still pending", zap.Error(err))
		return
	case err != nil:
		// The ticket exists in COC but is not recorded: the lease expires and
		// the next attempt looks it up by source_id and adopts it.
		b.metrics.storeErrors.WithLabelValues("complete").Inc()
		log.Error("record ticket; the next attempt will adopt it", zap.Error(err))
		return
	}
	b.metrics.deliveries.WithLabelValues(result).Inc()
	b.metrics.deliveryLatency.Observe(max(0, now.Sub(d.AcceptedAt).Seconds()))
	switch result {
	case deliveryCreated:
		b.metrics.ticketsCreated.Inc()
		log.Info("ticket created", zap.String("previous_ticket_id", d.PreviousTicketID))
	case deliveryAdopted:
		b.metrics.ticketsAdopted.Inc()
		log.Info("ticket adopted: found in COC by source_id after an unclear attempt")
	}
	w.lastErr = ""
}

// fail records a failed attempt: retry later, or dead-letter.
func (w *worker) fail(d Delivery, log *zap.Logger, err error, o Outcome, lookupFirst bool) {
	b := w.b
	if o == OutcomeDead {
		b.recovery.attemptEnded(b.opts.NowFunc())
		var ce *client.Error
		msg := err.Error()
		if errors.As(err, &ce) && ce.Message != "" {
			msg = ce.Message
		}
		w.dead(d, log, errorCode(err), msg)
		return
	}
	now := b.opts.NowFunc()
	if cocUnavailable(err) {
		b.recovery.attemptFailed(now)
	} else {
		b.recovery.attemptEnded(now)
	}
	delay := retryDelay(d.Attempts, b.opts.RetryBaseDelay, b.opts.RetryMaxDelay, b.opts.JitterFunc)
	if o == OutcomeLookupThenRetry {
		lookupFirst = true
		delay = max(delay, b.opts.AmbiguousDelay)
	}
	ctx, cancel := storeCtx()
	defer cancel()
	serr := b.opts.Store.Retry(ctx, RetryRequest{
		ID: d.ID, Owner: w.owner, NextAttempt: now.Add(delay), LastError: err.Error(),
		LookupFirst: lookupFirst, Now: now,
	})
	if errors.Is(serr, ErrLeaseLost) {
		b.metrics.deliveries.WithLabelValues(deliveryLeaseLost).Inc()
		log.Warn("attempt failed and the lease was lost meanwhile", zap.Error(err))
		return
	}
	if serr != nil {
		b.metrics.storeErrors.WithLabelValues("retry").Inc()
		log.Error("reschedule outbox item; it is retried when its lease expires", zap.Error(serr))
		return
	}
	b.metrics.deliveries.WithLabelValues(deliveryRetry).Inc()
	fields := []zap.Field{zap.Error(err), zap.String("decision", o.String()), zap.Duration("retry_in", delay),
		zap.String("class", client.Classify(err).String())}
	if msg := err.Error(); msg != w.lastErr {
		w.lastErr = msg
		log.Warn("ticket delivery failed; will retry", fields...)
	} else {
		log.Debug("ticket delivery failed again; will retry", fields...)
	}
}

func (w *worker) dead(d Delivery, log *zap.Logger, code, msg string) {
	b := w.b
	ctx, cancel := storeCtx()
	defer cancel()
	err := b.opts.Store.DeadLetter(ctx, DeadLetterRequest{
		ID: d.ID, Owner: w.owner, Code: code, Message: msg, Now: b.opts.NowFunc(),
	})
	if errors.Is(err, ErrLeaseLost) {
		b.metrics.deliveries.WithLabelValues(deliveryLeaseLost).Inc()
		log.Warn("permanent failure but the lease was lost meanwhile", zap.String("code", code), zap.String("error", msg))
		return
	}
	if err != nil {
		b.metrics.storeErrors.WithLabelValues("dead_letter").Inc()
		log.Error("dead-letter outbox item; it is retried when its lease expires", zap.Error(err))
		return
	}
	b.metrics.deliveries.WithLabelValues(deliveryDead).Inc()
	b.metrics.deadLetters.Inc()
	log.Error("ticket delivery failed permanently; dead-lettered until replayed (coc-bridge outbox replay)",
		zap.String("decision", deliveryDead), zap.String("code", code), zap.String("error", msg))
}

// logFailure logs a background failure at warn when its text changes and at
// debug when it repeats.
func (w *worker) logFailure(what string, err error) {
	if msg := err.Error(); msg != w.lastErr {
		w.lastErr = msg
		w.log.Warn(what, zap.Error(err))
		return
	}
	w.log.Debug(what, zap.Error(err))
}
