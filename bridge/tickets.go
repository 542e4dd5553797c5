package bridge

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
)

const maxListLimit = 1000

// viewStore is what the views and the stats loop need of the store.
type viewStore interface {
	Stats(ctx context.Context) (Stats, error)
	Ledger(ctx context.Context, f LedgerFilter) ([]LedgerEntry, error)
	Outbox(ctx context.Context, f OutboxFilter) ([]OutboxItem, error)
	Ping(ctx context.Context) error
}

// viewOptions configures the views. Store, NowFunc, Logger and Metrics are
// required.
type viewOptions struct {
	Store viewStore
	// DryRun: COC credentials are not used, so not checked.
	DryRun bool
	// Ready reports whether COC credentials are usable (nil: always).
	Ready   func(ctx context.Context) error
	NowFunc func() time.Time
	Logger  *zap.Logger
	Metrics *metrics
}

// views are the read-only HTTP surface: the ledger and outbox views
// (this file), health and readiness (health.go); and the loop that keeps
// the store and readiness gauges current (stats.go).
type views struct {
	opts viewOptions
	log  *zap.Logger
	m    *metrics
}

func newViews(opts viewOptions) *views { return &views{opts: opts, log: opts.Logger, m: opts.Metrics} }

// tickets is GET /api/v1/tickets: the ledger as JSON, filtered by ?state=
// and ?key=, at most ?limit= entries (default and cap 1000), most recently
// updated first.
func (v *views) tickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := LedgerFilter{Key: q.Get("key"), State: State(q.Get("state"))}
	if f.State != "" && !validState(f.State) {
		writeError(w, http.StatusBadRequest, "invalid state: want pending, open, closed or dead")
		return
	}
	listView(v, w, r, "tickets", func(ctx context.Context, limit int) ([]LedgerEntry, error) {
		f.Limit = limit
		return v.opts.Store.Ledger(ctx, f)
	})
}

// outbox is GET /api/v1/outbox: pending and dead items, oldest first,
// filtered by ?state= and ?key=.
func (v *views) outbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := OutboxFilter{Key: q.Get("key"), State: ItemState(q.Get("state"))}
	if f.State != "" && f.State != ItemPending && f.State != ItemDead {
		writeError(w, http.StatusBadRequest, "invalid state: want pending or dead")
		return
	}
	listView(v, w, r, "items", func(ctx context.Context, limit int) ([]OutboxItem, error) {
		f.Limit = limit
		return v.opts.Store.Outbox(ctx, f)
	})
}

// listView answers a store view: what read lists, at most ?limit=, as
// the JSON object {name: [...]} (an empty list, not null).
func listView[T any](v *views, w http.ResponseWriter, r *http.Request, name string, read func(ctx context.Context, limit int) ([]T, error)) {
	limit, ok := parseLimit(w, r.URL.Query().Get("limit"))
	if !ok {
		return
	}
	list, err := read(r.Context(), limit)
	if err != nil {
		v.storeReadFailed(w, err)
		return
	}
	if list == nil {
		list = []T{}
	}
	writeJSON(w, http.StatusOK, map[string][]T{name: list})
}

func (v *views) storeReadFailed(w http.ResponseWriter, err error) {
	v.m.storeErrors.WithLabelValues("read").Inc()
	v.log.Error("read store", zap.Error(err))
	writeError(w, http.StatusServiceUnavailable, "store unavailable")
}

func parseLimit(w http.ResponseWriter, s string) (int, bool) {
	if s == "" {
		return maxListLimit, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		writeError(w, http.StatusBadRequest, "invalid limit: want a positive integer")
		return 0, false
	}
	return min(n, maxListLimit), true
}

func validState(s State) bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}
