package sqlite

import (
	"testing"
	"time"
)

// gatherAsync runs gather on its own goroutine and returns its result
// channel.
func gatherAsync(writes chan *writeReq, calls int, wait time.Duration) <-chan []*writeReq {
	out := make(chan []*writeReq, 1)
	go func() { out <- gather(writes, []*writeReq{{}}, 128, calls, wait) }()
	return out
}

// batchOf fails the test unless gather returns a batch of n calls within
// a few seconds (the linger waits below are an hour, so a wait that should
// not have happened shows as a timeout).
func batchOf(t *testing.T, got <-chan []*writeReq, n int) {
	t.Helper()
	select {
	case b := <-got:
		if len(b) != n {
			t.Fatalf("batch of %d calls, want %d", len(b), n)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("gather still waiting, want a batch of %d calls", n)
	}
}

func TestGatherTakesWhatIsWaiting(t *testing.T) {
	writes := make(chan *writeReq, 8)
	writes <- &writeReq{}
	writes <- &writeReq{}
	// After a commit of one call (no wait), nothing more is waited for.
	batchOf(t, gatherAsync(writes, 8, 0), 3)
}

func TestGatherUnderLoadWaitsForCalls(t *testing.T) {
	writes := make(chan *writeReq)
	got := gatherAsync(writes, 3, time.Hour)
	// Each send blocks until gather takes it: one it does not take means it
	// stopped waiting before the batch reached 3.
	for i := range 2 {
		select {
		case writes <- &writeReq{}:
		case <-time.After(5 * time.Second):
			t.Fatalf("gather took %d calls after the first, want 2", i)
		}
	}
	batchOf(t, got, 3)
}

func TestGatherLingerIsBounded(t *testing.T) {
	writes := make(chan *writeReq)
	batchOf(t, gatherAsync(writes, 8, time.Millisecond), 1)
}

func TestGatherReturnsWhenWritesClose(t *testing.T) {
	writes := make(chan *writeReq)
	got := gatherAsync(writes, 8, time.Hour)
	close(writes)
	batchOf(t, got, 1)
}

func TestGatherStopsAtMaxBatch(t *testing.T) {
	writes := make(chan *writeReq, 4)
	for range 4 {
		writes <- &writeReq{}
	}
	out := gather(writes, []*writeReq{{}}, 3, 8, time.Hour)
	if len(out) != 3 || len(writes) != 2 {
		t.Fatalf("batch of %d calls with %d left waiting, want 3 and 2", len(out), len(writes))
	}
}
