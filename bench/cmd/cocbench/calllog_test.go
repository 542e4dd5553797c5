package main

import (
	"testing"
	"time"
)

func TestMaxPerWindow(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, base.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, c := range []struct {
		name           string
		times          []time.Time
		sliding, fixed int
	}{
		{"none", nil, 0, 0},
		{"one", at(10), 1, 1},
		// 900..1800 ms is one sliding second of 4 spread over two calendar seconds.
		{"straddles a second", at(0, 900, 1000, 1100, 1800, 2900), 4, 3},
		{"exactly 1 s apart are two windows", at(0, 1000, 2000), 1, 1},
	} {
		if got := maxPerWindow(c.times, time.Second); got != c.sliding {
			t.Errorf("%s: maxPerWindow = %d, want %d", c.name, got, c.sliding)
		}
		if got := maxPerSecondBucket(c.times); got != c.fixed {
			t.Errorf("%s: maxPerSecondBucket = %d, want %d", c.name, got, c.fixed)
		}
	}
}
