package bridge

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge/internal/loop"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/internal/logthrottle"
)

// statusNotFound is recorded when COC says the ticket does not exist.
const statusNotFound = "not_found"

// notFoundGrace is how old a ticket must be before "ticket does not exist"
// is believed.
const notFoundGrace = 10 * time.Minute

// refreshStore is what the refresher needs of the store.
type refreshStore interface {
	DueForRefresh(ctx context.Context, r RefreshRequest) ([]LedgerEntry, error)
	Release(ctx context.Context, r Release) error
	RecordCheck(ctx context.Context, c Check) error
}

// ticketReader is what the refresher needs of COC. *client.Client's
// LowPriority view implements it, so that status reads wait while creates
// and actions wait and use only their share of the QPS.
type ticketReader interface {
	GetTicket(ctx context.Context, ticketID string) (client.Ticket, error)
	GetTickets(ctx context.Context, ticketIDs []string) (map[string]client.Ticket, error)
}

// RefreshAgeDivisor shapes the refresh schedule: a ticket opened A ago is
// read every A / RefreshAgeDivisor, within [Interval, MaxInterval] (see
// RefreshRequest.IntervalFor).
const RefreshAgeDivisor = 12

// IntervalFor is how long after its last check an entry opened age ago is
// due: Interval while the ticket is young, then age / RefreshAgeDivisor, at
// most MaxInterval (Interval when MaxInterval is not above it). Engines
// apply the same rule in SQL.
func (r RefreshRequest) IntervalFor(age time.Duration) time.Duration {
	return min(max(r.Interval, age/RefreshAgeDivisor), max(r.MaxInterval, r.Interval))
}

// refresherOptions configures a refresher. Every field is required.
type refresherOptions struct {
	Store refreshStore
	COC   ticketReader
	// Interval is how often a young open ticket is read, MaxInterval how
	// often an old one is (RefreshRequest); Batch bounds the tickets per
	// round, which are read in one list call (at most
	// client.MaxTicketsPerRead).
	Interval    time.Duration
	MaxInterval time.Duration
	Batch       int
	// Terminal decides which tickets are finished.
	Terminal TerminalStatuses
	// Sightings counts and logs every status read.
	Sightings *StatusSightings
	NowFunc   func() time.Time
	Logger    *zap.Logger
	Metrics   *metrics
}

// refresher reads open tickets back from COC on the schedule of
// RefreshRequest.IntervalFor, a batch per list call, and releases the keys
// whose ticket is finished so the next firing notification opens a new
// ticket. Reads go through the COC client at low priority: they wait while
// a create or an action waits, and use only their share of the QPS.
// DueForRefresh hands each ticket to one replica only, oldest check first,
// so however far behind the reads are, a due ticket is read before any
// ticket checked after it.
type refresher struct {
	opts refresherOptions
	log  *zap.Logger
	m    *metrics
	// logs rate-limits refresh failure lines per key and cause.
	logs *logthrottle.Throttle
}

func newRefresher(opts refresherOptions) *refresher {
	opts.Batch = min(opts.Batch, client.MaxTicketsPerRead)
	log := opts.Logger.Named("refresher")
	return &refresher{opts: opts, log: log, m: opts.Metrics, logs: logthrottle.New(log, logthrottle.Options{Now: opts.NowFunc})}
}

// run refreshes until ctx ends.
func (rf *refresher) run(ctx context.Context) {
	tick := min(max(rf.opts.Interval/10, 100*time.Millisecond), 30*time.Second)
	loop.Repeat(ctx, tick, func() time.Duration {
		n, err := rf.round(ctx)
		if err != nil && ctx.Err() == nil {
			rf.m.storeErrors.WithLabelValues("refresh").Inc()
			rf.logs.Warn("", "due_for_refresh: "+errorCode(err), "list tickets due for a status check", zap.Error(err))
		}
		if n == rf.opts.Batch {
			return 0 // more are due: keep going, paced by the rate limiter
		}
		return tick
	})
}

// round checks one batch of due tickets and returns how many it took.
func (rf *refresher) round(ctx context.Context) (int, error) {
	entries, err := rf.opts.Store.DueForRefresh(ctx, RefreshRequest{
		Interval: rf.opts.Interval, MaxInterval: rf.opts.MaxInterval, Limit: rf.opts.Batch, Now: rf.opts.NowFunc(),
	})
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	listed, listErr := rf.readMany(ctx, entries)
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		t, ok := listed[e.TicketID]
		var err error
		switch {
		case ok:
		case listErr != nil && !permanent(listErr):
			// COC is failing: one read per ticket would fail the same way.
			err = listErr
		default:
			// Not listed (deleted, gone, or COC does not filter by ticket
			// number): read it alone, which tells "does not exist".
			t, err = rf.readOne(ctx, e.TicketID)
		}
		rf.record(ctx, e, t, err)
	}
	return len(entries), nil
}

// readMany reads the batch's tickets in one list call.
func (rf *refresher) readMany(ctx context.Context, entries []LedgerEntry) (map[string]client.Ticket, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.TicketID
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	listed, err := rf.opts.COC.GetTickets(rctx, ids)
	if err != nil && ctx.Err() == nil {
		rf.logs.Warn("", "list: "+errorCode(err), "read ticket statuses in one list call failed; reading them one by one if COC refused the call, else at the next refresh",
			zap.Int("tickets", len(ids)), zap.Error(err))
	}
	return listed, err
}

func (rf *refresher) readOne(ctx context.Context, ticketID string) (client.Ticket, error) {
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return rf.opts.COC.GetTicket(rctx, ticketID)
}

// permanent reports whether COC refused a call for good (an invalid
// parameter, say), as opposed to failing for now.
func permanent(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Class == client.ClassPermanent
}

// record records what COC said about one ticket: its status, or the key's
// release when it is finished.
func (rf *refresher) record(ctx context.Context, e LedgerEntry, t client.Ticket, err error) {
	log := rf.log.With(zap.String("key", e.Key), zap.String("receiver", e.Receiver), zap.String("ticket_id", e.TicketID))
	status, finished := ticketFinished(t, err, rf.opts.Terminal)
	if err == nil {
		rf.opts.Sightings.Observe(e.TicketID, ticketStatus(t), finished)
	}
	if finished && status == statusNotFound && e.OpenedAt != nil && rf.opts.NowFunc().Sub(*e.OpenedAt) < notFoundGrace {
		// COC creates tickets asynchronously: a young ticket may not be
		// readable yet. Releasing it now would open a duplicate.
		finished = false
	}
	if err != nil && !finished {
		rf.m.refreshes.WithLabelValues(refreshError).Inc()
		if !rf.logs.Warn(e.Key, errorCode(err), "read ticket status failed; the key stays open and the ticket is read again at the next refresh",
			zap.String("receiver", e.Receiver), zap.String("ticket_id", e.TicketID), zap.Error(err)) {
			log.Debug("read ticket status failed again", zap.Error(err))
		}
		rf.recordCheck(ctx, log, Check{Key: e.Key, TicketID: e.TicketID, Error: err.Error(), Now: rf.opts.NowFunc()})
		return
	}
	if !finished {
		rf.m.refreshes.WithLabelValues(refreshOpen).Inc()
		rf.recordCheck(ctx, log, Check{Key: e.Key, TicketID: e.TicketID, Status: status, Level: t.Level, Now: rf.opts.NowFunc()})
		return
	}
	err = rf.opts.Store.Release(ctx, Release{Key: e.Key, TicketID: e.TicketID, Status: status, Now: rf.opts.NowFunc()})
	switch {
	case errors.Is(err, ErrNotFound):
		// A newer ticket replaced it meanwhile; nothing to release.
		rf.m.refreshes.WithLabelValues(refreshOpen).Inc()
	case err != nil:
		rf.m.storeErrors.WithLabelValues("release").Inc()
		log.Warn("release finished ticket", zap.Error(err))
	default:
		rf.m.refreshes.WithLabelValues(refreshReleased).Inc()
		log.Info("ticket finished in COC; the next firing opens a new ticket", zap.String("status", status),
			zap.String("status_code", t.WorkFlowStatus), zap.String("phase", t.Phase))
	}
}

// ticketFinished decides from a show-ticket answer whether the ticket is
// finished (terminal reports it finished, or COC says it does not exist)
// and returns the status to record: the status's English name.
func ticketFinished(t client.Ticket, err error, terminal TerminalStatuses) (string, bool) {
	switch {
	case client.IsTicketNotFound(err):
		return statusNotFound, true
	case err != nil:
		return "", false
	case t.IsDeleted:
		return "deleted", true
	}
	finished, _ := terminal.Finished(ticketStatus(t))
	return t.StatusName(), finished
}

// ticketStatus is what t says about its state.
func ticketStatus(t client.Ticket) TicketStatus {
	return TicketStatus{Code: t.WorkFlowStatus, Name: t.StatusName(), Phase: t.Phase, Deleted: t.IsDeleted}
}

func (rf *refresher) recordCheck(ctx context.Context, log *zap.Logger, c Check) {
	err := rf.opts.Store.RecordCheck(ctx, c)
	if err != nil && !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
		rf.m.storeErrors.WithLabelValues("refresh").Inc()
		log.Warn("record ticket status", zap.Error(err))
	}
}
