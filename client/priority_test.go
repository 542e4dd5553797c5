package client_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
)

// TestLowPriorityWaitsForEveryOtherCall: four readers keep the bucket busy
// at low priority; six creates issued meanwhile are all sent before more
// than one further read (the one that may hold a token already). The order
// is the one the fake received, not a timing.
func TestLowPriorityWaitsForEveryOtherCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(o *client.Options) { o.QPS, o.Burst, o.ReadShare = 4, 1, 1 })
	ctx := t.Context()
	first, err := h.c.CreateIssueTicket(ctx, alarmTicket("priority"))
	if err != nil {
		t.Fatal(err)
	}
	reads, stop := context.WithCancel(ctx)
	defer stop()
	low := h.c.LowPriority()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for reads.Err() == nil {
				if _, err := low.GetTicket(reads, first.TicketID); err != nil && reads.Err() == nil {
					t.Errorf("low-priority read: %v", err)
					return
				}
			}
		})
	}
	waitUntil(t, func() bool { return h.count(http.MethodGet) >= 2 })
	mark := h.mark()
	var creates sync.WaitGroup
	for range 6 {
		creates.Go(func() {
			if _, err := h.c.CreateIssueTicket(ctx, alarmTicket("priority")); err != nil {
				t.Errorf("create: %v", err)
			}
		})
	}
	creates.Wait()
	stop()
	wg.Wait()

	h.mu.Lock()
	defer h.mu.Unlock()
	between, sent := 0, 0
	for _, r := range h.seen[mark:] {
		if sent == 6 {
			break
		}
		switch r.method {
		case http.MethodGet:
			between++
		case http.MethodPost:
			sent++
		}
	}
	if sent != 6 || between > 1 {
		t.Errorf("after the creates were issued: %d reads before the last of %d creates, want at most 1", between, sent)
	}
}

// count returns how many requests of method the fake has received.
func (h *harness) count(method string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.seen {
		if r.method == method {
			n++
		}
	}
	return n
}

// mark returns the number of requests seen so far.
func (h *harness) mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("condition not met within 10s"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
