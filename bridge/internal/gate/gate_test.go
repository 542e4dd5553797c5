package gate

import (
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
