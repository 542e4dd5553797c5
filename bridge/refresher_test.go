package bridge_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// callLog records the operation of every request the fake COC receives, in
// arrival order.
type callLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *callLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := "show"
		switch {
		case strings.HasSuffix(r.URL.Path, "/list-tickets"):
			op = "list"
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tickets"):
			op = "create"
		}
		l.mu.Lock()
		l.ops = append(l.ops, op)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *callLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops...)
}

func (l *callLog) count(op string, from int) int {
	n := 0
	for _, o := range l.snapshot()[from:] {
		if o == op {
			n++
		}
	}
	return n
}

// TestCreatesGoBeforeARefreshBacklog: 40 open tickets are due for a status
// read all the time (interval 1ms, one ticket per read) and status reads may
// take the whole QPS (share 1), one delivery worker. Eight new groups
// arrive: their creates go one after the other, with at most two status
// reads among them (one may hold a token when the first create comes, one
// may pass while the worker claims), where one bucket for all would
// alternate create and read. The order is the fake's, not a timing.
func TestCreatesGoBeforeARefreshBacklog(t *testing.T) {
	t.Parallel()
	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK})
	var log callLog
	srv := httptest.NewServer(log.wrap(fake))
	t.Cleanup(srv.Close)
	e := newEnv(t, envOptions{fake: fake, cocURL: srv.URL})
	const open = 40
	for g := range open {
		e.mustAccept(firing(fmt.Sprintf("Backlog%02d", g)))
	}
	e.waitSettled(open)

	e.restart(envOptions{fake: fake, cocURL: srv.URL, refresh: time.Millisecond,
		clientOpts: func(o *client.Options) { o.QPS, o.Burst, o.ReadShare = 2, 1, 1 },
		mutate:     func(o *bridge.Options) { o.Workers, o.RefreshBatch = 1, 1 },
	})
	mark := len(log.snapshot())
	waitFor(t, 10*time.Second, "status reads to use the bucket", func() bool { return log.count("list", mark) >= 2 })
	mark = len(log.snapshot())
	const groups = 8
	var wg sync.WaitGroup
	for g := range groups {
		wg.Go(func() { e.mustAccept(firing(fmt.Sprintf("New%02d", g))) })
	}
	wg.Wait()
	waitFor(t, 30*time.Second, "the new groups' creates", func() bool { return log.count("create", mark) == groups })

	ops := log.snapshot()[mark:]
	first, last := -1, -1
	for i, op := range ops {
		if op == "create" {
			last = i
			if first < 0 {
				first = i
			}
		}
	}
	reads := 0
	for _, op := range ops[first:last] {
		if op != "create" {
			reads++
		}
	}
	if reads > 2 {
		t.Errorf("%d status reads among the %d creates, want at most 2: %s", reads, groups, strings.Join(ops[first:last+1], " "))
	}
}

// TestRefreshScheduleByAge tables RefreshRequest.IntervalFor, which both
// engines apply in SQL (storetest's DueForRefreshSpacesOldTicketsOut).
func TestRefreshScheduleByAge(t *testing.T) {
	t.Parallel()
	r := bridge.RefreshRequest{Interval: 5 * time.Minute, MaxInterval: time.Hour}
	for _, tt := range []struct {
		age, want time.Duration
	}{
		{0, 5 * time.Minute},
		{time.Hour, 5 * time.Minute}, // 1h/12 = 5m
		{2 * time.Hour, 10 * time.Minute},
		{6 * time.Hour, 30 * time.Minute},
		{12 * time.Hour, time.Hour},
		{30 * 24 * time.Hour, time.Hour},
	} {
		if got := r.IntervalFor(tt.age); got != tt.want {
			t.Errorf("IntervalFor(%v) = %v, want %v", tt.age, got, tt.want)
		}
	}
	flat := bridge.RefreshRequest{Interval: 5 * time.Minute, MaxInterval: time.Minute}
	if got := flat.IntervalFor(24 * time.Hour); got != 5*time.Minute {
		t.Errorf("MaxInterval below Interval: IntervalFor(24h) = %v, want the Interval", got)
	}
}
