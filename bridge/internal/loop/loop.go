// Package loop owns the timer loop of the bridge's periodic goroutines (the
// prober, the refresher, the store engines' writes of buffered repeats):
// each step says how long to wait for the next, and the loop ends with its
// context.
package loop

import (
	"context"
	"time"
)

// Repeat calls step after wait, and again after each wait step returns,
// until ctx ends.
func Repeat(ctx context.Context, wait time.Duration, step func() time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(step())
	}
}
