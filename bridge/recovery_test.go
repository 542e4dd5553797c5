package bridge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// TestBackoffEndsWhenCOCIsBack: items that backed off for an hour while COC
// was down are delivered as soon as COC answers again, not an hour later.
func TestBackoffEndsWhenCOCIsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{mutate: func(o *bridge.Options) {
		o.RetryBaseDelay, o.RetryMaxDelay = time.Hour, time.Hour
		o.JitterFunc = func(d time.Duration) time.Duration { return d }
		o.RecoveryProbe = 50 * time.Millisecond
	}})
	e.fake.SetDown(true)
	const groups = 3
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Down%02d", g)))
	}
	waitFor(t, 20*time.Second, "every item to back off for about an hour", func() bool {
		n := 0
		for _, it := range e.outbox() {
			if it.Attempts > 0 && it.LeaseOwner == "" && time.Until(it.NextAttempt) > 30*time.Minute {
				n++
			}
		}
		return n == groups
	})
	if n := len(e.fake.Tickets()); n != 0 {
		t.Fatalf("%d tickets while COC was down", n)
	}
	e.fake.SetDown(false)
	e.waitSettled(groups)
	e.assertOneTicketPerKey(groups)
}
