package logthrottle

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestOneLinePerKeyAndCausePerInterval(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	th := New(zap.New(core), Options{Interval: time.Minute, Now: c.now})

	for range 210 {
		th.Warn("k1", "refresh_error", "refresh failed")
	}
	th.Warn("k2", "refresh_error", "refresh failed") // another key: written
	th.Info("k1", "status_refused", "refused")       // another cause: written
	if got := logs.Len(); got != 3 {
		t.Fatalf("%d lines, want 3: %v", got, logs.All())
	}
	c.add(59 * time.Second)
	th.Warn("k1", "refresh_error", "refresh failed")
	if logs.Len() != 3 {
		t.Fatal("a line passed before the interval was over")
	}
	c.add(time.Second)
	if !th.Warn("k1", "refresh_error", "refresh failed", zap.String("ticket", "ISU1")) {
		t.Fatal("the line after the interval was not written")
	}
	last := logs.All()[3]
	f := last.ContextMap()
	if last.Level != zapcore.WarnLevel || f["key"] != "k1" || f["cause"] != "refresh_error" || f["ticket"] != "ISU1" || f["suppressed"] != int64(210) {
		t.Errorf("line after the interval = %v %v, want warn with key, cause, ticket and suppressed=210", last.Level, f)
	}
	if _, ok := logs.All()[0].ContextMap()["suppressed"]; ok {
		t.Error("the first line claims suppressed lines")
	}
}

func TestDisabledLevelIsNotCounted(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	th := New(zap.New(core), Options{})
	for range 5 {
		th.Info("k", "c", "dropped by the level")
	}
	if !th.Warn("k", "c", "written") {
		t.Fatal("warn line not written")
	}
	if f := logs.All()[0].ContextMap(); f["suppressed"] != nil {
		t.Errorf("lines below the level were counted as suppressed: %v", f)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	c := &clock{t: time.Unix(0, 0)}
	th := New(zap.New(core), Options{Interval: time.Hour, Now: c.now, MaxKeys: 10})
	for i := range 1000 {
		th.Info(fmt.Sprint("key", i), "c", "line")
	}
	if n := len(th.seen); n > 10 {
		t.Errorf("%d keys remembered, want at most 10", n)
	}
	if logs.Len() != 1000 {
		t.Errorf("%d lines for 1000 distinct keys, want 1000", logs.Len())
	}
}

func TestConcurrentUse(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	th := New(zap.New(core), Options{Interval: time.Hour})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				th.Info(fmt.Sprint("key", i%4), "c", "line")
			}
		})
	}
	wg.Wait()
	if logs.Len() != 4 {
		t.Errorf("%d lines, want one per key (4)", logs.Len())
	}
}
