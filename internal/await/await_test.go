package await

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestTrueReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	True(t, 5*time.Second, "three polls", func() bool { return calls.Add(1) == 3 })
	if got := calls.Load(); got != 3 {
		t.Errorf("polled %d times, want 3", got)
	}
}

// recorder catches Fatalf so the failure itself can be checked.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = format
	if len(args) > 0 {
		r.msg = args[len(args)-1].(string)
	}
	panic(r)
}

func TestExplainedFailsWithTheLastExplanation(t *testing.T) {
	t.Parallel()
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != r {
				t.Fatalf("recovered %v, want the recorder's Fatalf", p)
			}
		}()
		Explained(r, 30*time.Millisecond, "never", func() (bool, string) { return false, "still 0 tickets" })
	}()
	if r.msg != "still 0 tickets" {
		t.Errorf("failure names %q, want the condition's last explanation", r.msg)
	}
}
