package lease

import (
	"errors"
	"testing"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func TestResult(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	if err := Result("retry", 7, "r/0", false, nil); err != nil {
		t.Errorf("held lease, no error: %v, want nil", err)
	}
	if err := Result("retry", 7, "r/0", true, nil); !errors.Is(err, bridge.ErrLeaseLost) ||
		err.Error() != "retry outbox item 7 as r/0: lease lost" {
		t.Errorf("lost lease: %v, want ErrLeaseLost naming item and owner", err)
	}
	// A failed write is reported as such, lost or not: nothing was written.
	if err := Result("complete", 7, "r/0", true, boom); !errors.Is(err, boom) || errors.Is(err, bridge.ErrLeaseLost) ||
		err.Error() != "complete outbox item 7: disk full" {
		t.Errorf("failed write: %v, want the write's error only", err)
	}
}
