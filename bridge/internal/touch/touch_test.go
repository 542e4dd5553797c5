package touch

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/coc-bridge/coc-bridge/bridge/internal/gate"
)

func TestAddCountsAndKeepsTheLatestTime(t *testing.T) {
	var b Buffer
	t0 := time.Unix(100, 0)
	b.Add("k", t0.Add(2*time.Second))
	got, ok := b.Add("k", t0) // late, from an HA peer
	if !ok || got.N != 2 || !got.At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("Add = %+v, %t; want 2 at +2s", got, ok)
	}
	if m := b.Take(); len(m) != 1 || m["k"] != got {
		t.Fatalf("Take = %v, want k: %v", m, got)
	}
	if m := b.Take(); m != nil {
		t.Fatalf("Take after Take = %v, want nil", m)
	}
}

func TestAddRefusesNewKeysWhenFull(t *testing.T) {
	var b Buffer
	at := time.Unix(100, 0)
	for i := range MaxKeys {
		if _, ok := b.Add(fmt.Sprint(i), at); !ok {
			t.Fatalf("Add of key %d refused", i)
		}
	}
	if _, ok := b.Add("one more", at); ok {
		t.Fatal("Add of a new key to a full buffer accepted")
	}
	if got, ok := b.Add("0", at); !ok || got.N != 2 {
		t.Fatalf("Add of a buffered key to a full buffer = %+v, %t; want 2, true", got, ok)
	}
}

func TestFailedFlushKeepsEverything(t *testing.T) {
	var b Buffer
	t0 := time.Unix(100, 0)
	b.Add("a", t0)
	b.Add("b", t0)
	err := b.Flush(t.Context(), func(ctx context.Context, m map[string]Touch) error {
		b.Add("a", t0.Add(time.Second)) // arrives while the write runs
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("Flush returned nil for a failed write")
	}
	var wrote map[string]Touch
	if err := b.Flush(t.Context(), func(ctx context.Context, m map[string]Touch) error {
		wrote = m
		return nil
	}); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	want := map[string]Touch{"a": {2, t0.Add(time.Second)}, "b": {1, t0}}
	if fmt.Sprint(wrote) != fmt.Sprint(want) {
		t.Fatalf("second flush wrote %v, want %v", wrote, want)
	}
	if err := b.Flush(t.Context(), func(context.Context, map[string]Touch) error {
		t.Fatal("write called for an empty buffer")
		return nil
	}); err != nil {
		t.Fatalf("Flush of an empty buffer: %v", err)
	}
}

func TestStartWritesEveryIntervalUntilClose(t *testing.T) {
	var (
		b Buffer
		g gate.Gate
	)
	closed := errors.New("closed")
	wrote := make(chan map[string]Touch, 1)
	b.Start(&g, closed, func(ctx context.Context, m map[string]Touch) error {
		wrote <- m
		return nil
	}, zaptest.NewLogger(t))
	b.Add("k", time.Unix(100, 0))
	select {
	case m := <-wrote:
		if m["k"].N != 1 {
			t.Fatalf("wrote %v, want k once", m)
		}
	case <-time.After(10 * Interval):
		t.Fatal("nothing written within ten intervals")
	}
	// Close writes what came since, once, and only the first time.
	b.Add("k", time.Unix(101, 0))
	var last map[string]Touch
	first, err := b.Close(&g, func(_ context.Context, m map[string]Touch) error {
		last = m
		return nil
	})
	if !first || err != nil || last["k"].N != 1 {
		t.Fatalf("Close: first %v, %v, wrote %v; want true, nil, k once", first, err, last)
	}
	if g.Do(closed, func() error { return nil }) != closed {
		t.Fatal("the store's gate is open after Close")
	}
	b.Add("k", time.Unix(102, 0))
	if first, err := b.Close(&g, func(context.Context, map[string]Touch) error {
		t.Error("second Close wrote")
		return nil
	}); first || err != nil {
		t.Fatalf("second Close: first %v, %v; want false, nil", first, err)
	}
}
