package bridge

import (
	"net/http"
	"strconv"

	"go.uber.org/zap"
)

const maxListLimit = 1000

// tickets is GET /api/v1/tickets: the ledger as JSON, filtered by ?state=
// and ?key=, at most ?limit= entries (default and cap 1000), most recently
// updated first.
func (b *Bridge) tickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := LedgerFilter{Key: q.Get("key"), State: State(q.Get("state"))}
	if f.State != "" && !validState(f.State) {
		writeError(w, http.StatusBadRequest, "invalid state: want pending, open, closed or dead")
		return
	}
	limit, ok := parseLimit(w, q.Get("limit"))
	if !ok {
		return
	}
	f.Limit = limit
	entries, err := b.opts.Store.Ledger(r.Context(), f)
	if err != nil {
		b.storeReadFailed(w, err)
		return
	}
	if entries == nil {
		entries = []LedgerEntry{}
	}
	writeJSON(w, http.StatusOK, struct {
		Tickets []LedgerEntry `json:"tickets"`
	}{entries})
}

// outbox is GET /api/v1/outbox: pending and dead items, oldest first,
// filtered by ?state= and ?key=.
func (b *Bridge) outbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := OutboxFilter{Key: q.Get("key"), State: ItemState(q.Get("state"))}
	if f.State != "" && f.State != ItemPending && f.State != ItemDead {
		writeError(w, http.StatusBadRequest, "invalid state: want pending or dead")
		return
	}
	limit, ok := parseLimit(w, q.Get("limit"))
	if !ok {
		return
	}
	f.Limit = limit
	items, err := b.opts.Store.Outbox(r.Context(), f)
	if err != nil {
		b.storeReadFailed(w, err)
		return
	}
	if items == nil {
		items = []OutboxItem{}
	}
	writeJSON(w, http.StatusOK, struct {
		Items []OutboxItem `json:"items"`
	}{items})
}

func (b *Bridge) storeReadFailed(w http.ResponseWriter, err error) {
	b.metrics.storeErrors.WithLabelValues("read").Inc()
	b.log.Error("read store", zap.Error(err))
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
