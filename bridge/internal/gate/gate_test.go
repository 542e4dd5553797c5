package gate

import (
	"errors"
	"testing"
	"time"
)

func TestCloseWaitsForCallsAndTurnsNewOnesAway(t *testing.T) {
	t.Parallel()
	var g Gate
	if !g.Enter() {
		t.Fatal("a new gate refused a call")
	}
	closed := make(chan bool)
	go func() { closed <- g.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a call was running")
	case <-time.After(50 * time.Millisecond):
	}
	g.Leave()
	select {
	case first := <-closed:
		if !first {
			t.Error("the first Close reported it was not the first")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the call left")
	}
	if g.Enter() {
		t.Error("a closed gate let a call in")
	}
	if g.Close() {
		t.Error("a second Close reported it was the first")
	}
}

func TestDoRunsUntilClosed(t *testing.T) {
	var g Gate
	closed := errors.New("closed")
	ran := 0
	if err := g.Do(closed, func() error { ran++; return nil }); err != nil || ran != 1 {
		t.Fatalf("Do on an open gate = %v after %d runs, want nil after 1", err, ran)
	}
	g.Close()
	if err := g.Do(closed, func() error { ran++; return nil }); err != closed || ran != 1 {
		t.Fatalf("Do on a closed gate = %v after %d runs, want %v and no run", err, ran, closed)
	}
}
