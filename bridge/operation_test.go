package bridge

import (
	"context"
	"testing"

	"go.uber.org/zap"
)

// Every kind has an operation; a kind this version does not know is
// dead-lettered (and replayable after an upgrade), never retried forever.
func TestOperationFor(t *testing.T) {
	t.Parallel()
	dl := &deliverer{}
	for _, k := range Kinds {
		if _, unknown := dl.operationFor(Delivery{Kind: k}).(unknownOp); unknown {
			t.Errorf("kind %q has no operation", k)
		}
	}
	_, err := dl.operationFor(Delivery{Kind: "from_the_future"}).perform(context.Background(), Delivery{Kind: "from_the_future"}, zap.NewNop())
	if o := outcome(err, nil); o != OutcomeDead {
		t.Errorf("unknown kind: outcome %v, want dead", o)
	}
}
