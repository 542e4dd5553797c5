// Package logthrottle rate-limits log lines per key and cause, so that a
// flood of one failure (a thousand refused status reads of one ticket, a
// client posting garbage in a loop) cannot drown the log, while the first
// line of every new key or cause is written at once and a suppressed run is
// counted on the next line that passes.
//
// Use it for every decision that drops, delays or dead-letters work: such
// lines belong at info or warn, and the throttle is what makes that level
// affordable.
package logthrottle

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// DefaultMaxKeys bounds the keys a Throttle remembers.
const DefaultMaxKeys = 4096

// Throttle writes at most one line per key and cause per interval. It is
// safe for concurrent use. Its memory is bounded: past MaxKeys remembered
// pairs, the ones whose interval is over are forgotten, and if that is not
// enough, all of them (the next line of each is then written at once).
type Throttle struct {
	log      *zap.Logger
	interval time.Duration
	now      func() time.Time
	maxKeys  int

	mu   sync.Mutex
	seen map[pair]*window
}

type pair struct{ key, cause string }

type window struct {
	start      time.Time // when the last line of the pair was written
	suppressed int       // lines dropped since
}

// Options configures a Throttle.
type Options struct {
	// Interval is the shortest time between two lines of one key and cause
	// (default 1m).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxKeys bounds the pairs remembered (default DefaultMaxKeys).
	MaxKeys int
}

// New returns a Throttle writing to log.
func New(log *zap.Logger, opts Options) *Throttle {
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	return &Throttle{log: log, interval: opts.Interval, now: opts.Now, maxKeys: opts.MaxKeys, seen: map[pair]*window{}}
}

// Info logs msg at info level unless a line of the same key and cause was
// written within the interval; see Log.
func (t *Throttle) Info(key, cause, msg string, fields ...zap.Field) bool {
	return t.Log(zapcore.InfoLevel, key, cause, msg, fields...)
}

// Warn logs msg at warn level unless a line of the same key and cause was
// written within the interval; see Log.
func (t *Throttle) Warn(key, cause, msg string, fields ...zap.Field) bool {
	return t.Log(zapcore.WarnLevel, key, cause, msg, fields...)
}

// Log writes msg at level with fields plus "key" and "cause", unless a line
// of the same key and cause was written within the interval, in which case
// it is counted instead. A line that passes after some were dropped carries
// "suppressed": how many, since the previous one. It reports whether it
// wrote the line.
func (t *Throttle) Log(level zapcore.Level, key, cause, msg string, fields ...zap.Field) bool {
	ce := t.log.Check(level, msg)
	if ce == nil {
		return false // the level is off: nothing to count either
	}
	now := t.now()
	t.mu.Lock()
	p := pair{key, cause}
	w, ok := t.seen[p]
	if ok && now.Sub(w.start) < t.interval {
		w.suppressed++
		t.mu.Unlock()
		return false
	}
	suppressed := 0
	if ok {
		suppressed = w.suppressed
		w.start, w.suppressed = now, 0
	} else {
		t.remember(p, now)
	}
	t.mu.Unlock()
	fields = append(fields, zap.String("key", key), zap.String("cause", cause))
	if suppressed > 0 {
		fields = append(fields, zap.Int("suppressed", suppressed))
	}
	ce.Write(fields...)
	return true
}

// remember adds a pair, keeping the map within maxKeys. t.mu is held.
func (t *Throttle) remember(p pair, now time.Time) {
	if len(t.seen) >= t.maxKeys {
		for k, w := range t.seen {
			if now.Sub(w.start) >= t.interval {
				delete(t.seen, k)
			}
		}
		if len(t.seen) >= t.maxKeys {
			clear(t.seen)
		}
	}
	t.seen[p] = &window{start: now}
}
