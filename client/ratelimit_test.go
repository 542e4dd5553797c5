package client

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

func TestShareOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		qps       float64
		burst, n  int
		wantQPS   float64
		wantBurst int
	}{
		{10, 5, 1, 10, 5},
		{10, 5, 0, 10, 5}, // no count yet: alone
		{10, 5, 2, 5, 2},
		{10, 5, 3, 10.0 / 3, 1},
		{10, 1, 4, 2.5, 1}, // never below one token
		{5, 20, 4, 1.25, 5},
	} {
		q, b := ShareOf(tt.qps, tt.burst, tt.n)
		if q != tt.wantQPS || b != tt.wantBurst {
			t.Errorf("ShareOf(%v, %d, %d) = %v, %d; want %v, %d", tt.qps, tt.burst, tt.n, q, b, tt.wantQPS, tt.wantBurst)
		}
	}
}

// TestShareDividesBothBuckets: the shared bucket and the low-priority
// budget are both divided, and a replica leaving gives its share back.
func TestShareDividesBothBuckets(t *testing.T) {
	t.Parallel()
	r, err := newRateLimiter(12, 6, 0.25, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	check := func(n int, qps float64, burst int, low float64) {
		t.Helper()
		if q, b := r.rate(); q != qps || b != burst || r.lim.Limit() != rate.Limit(qps) || r.lim.Burst() != burst {
			t.Errorf("%d replicas: rate %v/%d (bucket %v/%d), want %v/%d", n, q, b, r.lim.Limit(), r.lim.Burst(), qps, burst)
		}
		if r.low.Limit() != rate.Limit(low) {
			t.Errorf("%d replicas: low-priority budget %v/s, want %v/s", n, r.low.Limit(), low)
		}
	}
	check(1, 12, 6, 3)
	r.share(3)
	check(3, 4, 2, 1)
	r.share(2)
	check(2, 6, 3, 1.5)
	if _, err := newRateLimiter(1, 1, 1.5, nil); err == nil {
		t.Error("read share 1.5 accepted")
	}
}
