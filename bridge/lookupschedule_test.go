package bridge

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/mapping"
)

func TestLookupSchedule(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 12, 3, 23, 0, 0, 0, time.UTC)
	def := mapping.DefaultLookupSchedule()
	cases := []struct {
		name     string
		schedule []time.Duration
		done     int
		at       time.Time // zero with create
		create   bool
	}{
		{"default: first at once", def, 0, since, false},
		{"default: second after 5s", def, 1, since.Add(5 * time.Second), false},
		{"default: third after 30s", def, 2, since.Add(30 * time.Second), false},
		{"default: last after 2m", def, 3, since.Add(2 * time.Minute), false},
		{"default: all empty, create", def, 4, time.Time{}, true},
		{"more done than scheduled", def, 9, time.Time{}, true},
		{"negative done is none", def, -1, since, false},
		{"offsets are from since, not cumulative", []time.Duration{time.Second, 20 * time.Second}, 1, since.Add(20 * time.Second), false},
		{"one lookup", []time.Duration{10 * time.Second}, 0, since.Add(10 * time.Second), false},
		{"one lookup done", []time.Duration{10 * time.Second}, 1, time.Time{}, true},
		{"empty schedule still looks once", nil, 0, since, false},
		{"empty schedule after its lookup", nil, 1, time.Time{}, true},
	}
	for _, tc := range cases {
		at, create := NextLookup(tc.schedule, since, tc.done)
		if !at.Equal(tc.at) || create != tc.create {
			t.Errorf("%s: NextLookup(%v, done %d) = %v, %v; want %v, %v", tc.name, tc.schedule, tc.done, at, create, tc.at, tc.create)
		}
	}
	// A visibility lag of 20 s is covered by the default schedule: the
	// lookup at 30 s comes before any create.
	lag := since.Add(20 * time.Second)
	for done := 0; ; done++ {
		at, create := NextLookup(def, since, done)
		if create {
			t.Fatal("the default schedule creates again before COC shows a ticket created with a 20 s lag")
		}
		if !at.Before(lag) {
			break
		}
	}
}
