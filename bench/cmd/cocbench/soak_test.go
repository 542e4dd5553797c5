package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bench"
)

func TestTrend(t *testing.T) {
	t.Parallel()
	var flat, leak []sample
	for i := range 60 {
		at := float64(10 * (i + 1))
		// Connection-driven noise around 30, and the same plus one goroutine
		// more every 20 s.
		noise := float64((i * 7) % 5)
		flat = append(flat, sample{At: at, Goroutines: 30 + noise})
		leak = append(leak, sample{At: at, Goroutines: 30 + noise + float64(i/2)})
	}
	get := func(s sample) float64 { return s.Goroutines }
	if v := trend("goroutines", "", flat, get, 0.10, 5); !v.Flat || v.SlopePerHour > 10 || v.SlopePerHour < -10 {
		t.Errorf("a flat series judged %+v", v)
	}
	v := trend("goroutines", "", leak, get, 0.10, 5)
	if v.Flat || v.SlopePerHour < 150 {
		t.Errorf("a growing series judged %+v", v)
	}
	if v := trend("goroutines", "", flat[:5], get, 0.10, 5); v.Flat {
		t.Errorf("too few samples judged flat: %+v", v)
	}
}

func TestSoakSchedule(t *testing.T) {
	t.Parallel()
	s := &soak{cfg: soakConfig{duration: 10 * time.Minute}}
	if c := s.cycle(); c != 150*time.Second {
		t.Fatalf("cycle %v", c)
	}
	for at, want := range map[time.Duration]string{
		0:                                "healthy",
		30 * time.Second:                 "down (503 APIG.0202)",
		65 * time.Second:                 "throttled (every other request 429 APIG.0308, Retry-After 1)",
		85 * time.Second:                 "slow (1.5 s answers)",
		95 * time.Second:                 "stalled (12 s answers, over COC_BRIDGE_COC_TIMEOUT)",
		110 * time.Second:                "dropped create answers (1 every 4 s)",
		149 * time.Second:                "healthy",
		150*time.Second + 30*time.Second: "down (503 APIG.0202)",
	} {
		if got := s.phaseAt(at).name; got != want {
			t.Errorf("phase at %v = %q, want %q", at, got, want)
		}
	}
	// The phases tile the cycle.
	for i := 1; i < len(soakSchedule); i++ {
		if soakSchedule[i].from != soakSchedule[i-1].to {
			t.Errorf("gap or overlap between %q and %q", soakSchedule[i-1].name, soakSchedule[i].name)
		}
	}
	if soakSchedule[0].from != 0 || soakSchedule[len(soakSchedule)-1].to != 1 {
		t.Error("the schedule does not cover the cycle")
	}
}

func TestResolvedBody(t *testing.T) {
	t.Parallel()
	firing := bench.Bodies(7, 1, 3)[0]
	b, err := resolvedBody(firing)
	if err != nil {
		t.Fatal(err)
	}
	var f, r bench.Message
	if err := json.Unmarshal(firing, &f); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "resolved" || r.GroupKey != f.GroupKey || len(r.Alerts) != 3 {
		t.Fatalf("resolved body: status %q, group key %q, %d alerts", r.Status, r.GroupKey, len(r.Alerts))
	}
	for i, a := range r.Alerts {
		if a.Status != "resolved" || !a.EndsAt.After(a.StartsAt) || a.Fingerprint != f.Alerts[i].Fingerprint {
			t.Errorf("alert %d: %+v", i, a)
		}
	}
}
