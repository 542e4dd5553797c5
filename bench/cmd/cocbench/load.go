package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what a load phase measured at the sender.
type loadResult struct {
	OK, Failed int
	Elapsed    time.Duration
	Latencies  []time.Duration // of 2xx answers
	// FirstAck[g] is when group g's first notification was acknowledged
	// (UnixNano; 0 when never).
	FirstAck []int64
}

func (r loadResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// sender posts notifications and records what it saw.
type sender struct {
	client *http.Client
	url    string

	mu        sync.Mutex
	latencies []time.Duration
	ok, fail  int
	firstAck  []atomic.Int64
}

func newSender(url string, groups int) *sender {
	tr := &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &sender{
		client:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		url:      url + "/api/v1/alerts",
		firstAck: make([]atomic.Int64, groups),
	}
}

// post sends one notification of group g; latency counts from since.
func (s *sender) post(ctx context.Context, g int, body []byte, since time.Time) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		s.record(false, 0, g)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alertmanager/0.31.1")
	resp, err := s.client.Do(req)
	if err != nil {
		s.record(false, 0, g)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s.record(resp.StatusCode/100 == 2, time.Since(since), g)
}

func (s *sender) record(ok bool, d time.Duration, g int) {
	if ok {
		s.firstAck[g].CompareAndSwap(0, time.Now().UnixNano())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.ok++
		s.latencies = append(s.latencies, d)
	} else {
		s.fail++
	}
}

func (s *sender) result(elapsed time.Duration) loadResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := loadResult{OK: s.ok, Failed: s.fail, Elapsed: elapsed, Latencies: slices.Clone(s.latencies)}
	r.FirstAck = make([]int64, len(s.firstAck))
	for i := range s.firstAck {
		r.FirstAck[i] = s.firstAck[i].Load()
	}
	s.client.CloseIdleConnections()
	return r
}

// closedLoop runs concurrency senders back to back. Notification i is
// bodies[i % len(bodies)], sent dup times at once. With count > 0 it sends
// exactly count notifications, else it runs for duration.
func closedLoop(ctx context.Context, url string, bodies [][]byte, concurrency, dup, count int, duration time.Duration) loadResult {
	s := newSender(url, len(bodies))
	var next atomic.Int64
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if count > 0 && i >= count {
					return
				}
				if count <= 0 && time.Now().After(deadline) {
					return
				}
				g := i % len(bodies)
				if dup <= 1 {
					s.post(ctx, g, bodies[g], time.Now())
					continue
				}
				var copies sync.WaitGroup
				at := time.Now()
				for range dup {
					copies.Go(func() { s.post(ctx, g, bodies[g], at) })
				}
				copies.Wait()
			}
		})
	}
	wg.Wait()
	return s.result(time.Since(start))
}

// openLoop sends count notifications at a fixed rate, each on its own
// goroutine, whatever the answers take; latency counts from the scheduled
// send time, so a stalled server shows as latency instead of a lower rate.
func openLoop(ctx context.Context, url string, bodies [][]byte, rate float64, count int) loadResult {
	s := newSender(url, len(bodies))
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range count {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		g := i % len(bodies)
		wg.Go(func() { s.post(ctx, g, bodies[g], at) })
	}
	wg.Wait()
	return s.result(time.Since(start))
}

// percentile returns the p-th percentile (0..100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(float64(len(s))*p/100+0.5) - 1
	k = max(0, min(k, len(s)-1))
	return s[k]
}
