package bridge

import (
	"maps"
	"reflect"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge/internal/touch"
)

// This file is the repeat rule: which notifications an engine may answer
// from a read. Alertmanager sends a group again every repeat_interval and
// every HA peer sends it too, so most notifications repeat a key that has
// an open ticket; such a notification changes only the key's count and
// last-seen time, which decide nothing and are written lazily
// (bridge/internal/touch).

// PlanRepeat is PlanAccept for an engine that read the key's entry cur and
// its live item outside a write: ok is true when the notification changes
// nothing that must survive a crash (no item to write, and the entry after
// it differs from cur only in its notification count and update time).
// Then the engine buffers the repeat instead of writing it, and answers
// with d and e (see CountRepeat).
func PlanRepeat(cur LedgerEntry, found bool, n Notification, item ItemRef) (d Decision, e LedgerEntry, ok bool) {
	if !found {
		return "", LedgerEntry{}, false
	}
	d, e, plan := PlanAccept(cur, found, n, item)
	if plan.Action != ItemKeep || !informationalOnly(cur, e) {
		return "", LedgerEntry{}, false
	}
	return d, e, true
}

// CountRepeat returns e, the entry PlanRepeat returned for cur, as it is
// once the pending repeats buffered for its key, the latest at pendingAt,
// are written.
func CountRepeat(cur, e LedgerEntry, pending int64, pendingAt time.Time) LedgerEntry {
	e.Notifications = cur.Notifications + pending
	if pendingAt.After(cur.UpdatedAt) {
		e.UpdatedAt = pendingAt.UTC()
	} else {
		e.UpdatedAt = cur.UpdatedAt
	}
	return e
}

// informationalOnly reports whether next differs from cur only in the
// fields a repeat changes lazily.
func informationalOnly(cur, next LedgerEntry) bool {
	if !maps.Equal(cur.GroupLabels, next.GroupLabels) {
		return false
	}
	next.Notifications, next.UpdatedAt, next.GroupLabels = cur.Notifications, cur.UpdatedAt, cur.GroupLabels
	return reflect.DeepEqual(cur, next)
}

// AcceptRepeat is the read-only Accept of a notification n an engine read
// the key's entry cur and live item for: when PlanRepeat allows it, the
// repeat is added to buf, the engine's buffer of lazily written repeats,
// and the result counts it. ok is false when n must be written (or buf is
// full): the engine then runs its write path, which decides again.
func AcceptRepeat(cur LedgerEntry, found bool, n Notification, item ItemRef, buf *touch.Buffer) (AcceptResult, bool) {
	d, e, ok := PlanRepeat(cur, found, n, item)
	if !ok {
		return AcceptResult{}, false
	}
	t, ok := buf.Add(n.Key, n.ReceivedAt)
	if !ok {
		return AcceptResult{}, false
	}
	return AcceptResult{Decision: d, Entry: CountRepeat(cur, e, t.N, t.At), Repeat: true}, true
}
