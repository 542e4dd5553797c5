package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// callLog sits in front of the fake COC and notes when each request
// arrived, and when each ticket was last read (GET of a ticket, or named in
// a list-tickets batch read), so the
// scenarios can count requests per second and tell how stale the oldest
// status read is.
type callLog struct {
	next http.Handler

	mu          sync.Mutex
	times       []time.Time
	lastRead    map[string]time.Time // ticket id -> last read
	ticketReads int
}

func (l *callLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var read []string
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/issues_mgmt/tickets/"); ok && r.Method == http.MethodGet {
		read = []string{id}
	}
	if r.URL.Path == "/v1/issues_mgmt/list-tickets" {
		// A batch read names its tickets in a ticket_id filter.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		read = listedTicketIDs(body)
	}
	l.mu.Lock()
	l.times = append(l.times, now)
	for _, id := range read {
		l.lastRead[id] = now
	}
	l.ticketReads += len(read)
	l.mu.Unlock()
	l.next.ServeHTTP(w, r)
}

// listedTicketIDs returns the values of a list-tickets body's ticket_id
// filter (none for a lookup by source_id).
func listedTicketIDs(body []byte) []string {
	var req struct {
		StringFilters []struct {
			Field  string   `json:"field"`
			Values []string `json:"values"`
		} `json:"string_filters"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	var ids []string
	for _, f := range req.StringFilters {
		if f.Field == "ticket_id" {
			ids = append(ids, f.Values...)
		}
	}
	return ids
}

// ticketsRead returns how many ticket reads (a GET, or a ticket named in a
// batch read) the fake has received.
func (l *callLog) ticketsRead() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ticketReads
}

// since returns the arrival times of the requests received at or after t.
func (l *callLog) since(t time.Time) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.times, t, time.Time.Compare)
	return slices.Clone(l.times[i:])
}

// read returns when the ticket was last read, if ever.
func (l *callLog) read(ticketID string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.lastRead[ticketID]
	return t, ok
}

// reads returns how many distinct tickets were read at least once.
func (l *callLog) reads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lastRead)
}

// maxPerWindow is the largest number of times in any window of length w
// (sliding: every window that starts at one of the times). times must be
// sorted.
func maxPerWindow(times []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// maxPerSecondBucket is the largest number of times falling in one
// calendar second (fixed 1 s windows).
func maxPerSecondBucket(times []time.Time) int {
	count := map[int64]int{}
	best := 0
	for _, t := range times {
		k := t.Unix()
		count[k]++
		best = max(best, count[k])
	}
	return best
}
