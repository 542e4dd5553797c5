package storetest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// safeTextTests write text as COC may send it (a NUL, invalid UTF-8, a
// whole error page) through every call that stores COC's words, and check
// what the engine kept: the text made safe (bridge.SafeText), not a failed
// write.
var safeTextTests = []test{
	{"DeadLetterStoresHostileTextSafely", testSafeDeadLetter},
	{"RetryStoresHostileTextSafely", testSafeRetry},
	{"RecordCheckAndReleaseStoreHostileTextSafely", testSafeRefresh},
	{"CompleteStoresHostileTicketIDSafely", testSafeComplete},
}

// Hostile texts and what every engine must keep of them.
const (
	nulText     = "invalid parameter:\x00level"
	nulSafe     = "invalid parameter:\uFFFDlevel"
	invalidUTF8 = "bad \xff\xfe bytes"
	invalidSafe = "bad \uFFFD bytes"
)

// longText is an error page far over bridge.MaxTextBytes, of two-byte
// characters so the cap falls inside one.
var longText = "<html>" + strings.Repeat("é", bridge.MaxTextBytes) + "</html>"

// checkSafe checks that got is want made safe with limit and is storable.
func checkSafe(t *testing.T, what, got, want string, limit int) {
	t.Helper()
	if exp := bridge.SafeText(want, limit); got != exp {
		t.Errorf("%s: stored %q, want %q", what, clip(got), clip(exp))
	}
	if strings.ContainsRune(got, 0) || !utf8.ValidString(got) || len(got) > limit {
		t.Errorf("%s: stored %d bytes, NUL %v, valid UTF-8 %v; want at most %d valid bytes without NUL",
			what, len(got), strings.ContainsRune(got, 0), utf8.ValidString(got), limit)
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:40] + "..." + s[len(s)-40:]
	}
	return s
}

func testSafeDeadLetter(t *testing.T, h Harness) {
	s := h.Open(t)
	cases := []struct{ key, code, msg, wantCode, wantMsg string }{
		{"nul", "GOM.\x0000007256", nulText, "GOM.\uFFFD00007256", nulSafe},
		{"utf8", "GOM.\xff", invalidUTF8, "GOM.\uFFFD", invalidSafe},
		{"long", strings.Repeat("C", 1000), longText, "", ""},
	}
	for i, c := range cases {
		d := time.Duration(i) * time.Second
		accept(t, s, firing(c.key, d), bridge.DecisionCreate)
		dl := claimOne(t, s, ownerA, d)
		if err := s.DeadLetter(t.Context(), bridge.DeadLetterRequest{
			ID: dl.ID, Owner: ownerA, Code: c.code, Message: c.msg, Now: at(d),
		}); err != nil {
			t.Fatalf("DeadLetter(%s): %v", c.key, err)
		}
		it := item(t, s, c.key)
		if it.State != bridge.ItemDead {
			t.Errorf("%s: item state %s, want dead", c.key, it.State)
		}
		checkSafe(t, c.key+" ErrorCode", it.ErrorCode, c.code, bridge.MaxCodeBytes)
		checkSafe(t, c.key+" LastError", it.LastError, c.msg, bridge.MaxTextBytes)
		if c.wantCode != "" && (it.ErrorCode != c.wantCode || it.LastError != c.wantMsg) {
			t.Errorf("%s: stored %q %q, want %q %q", c.key, it.ErrorCode, it.LastError, c.wantCode, c.wantMsg)
		}
		e := entry(t, s, c.key)
		if e.State != bridge.StateDead {
			t.Errorf("%s: entry state %s, want dead", c.key, e.State)
		}
		if want := it.ErrorCode + ": " + it.LastError; e.LastError != want {
			t.Errorf("%s: entry LastError %q, want %q", c.key, clip(e.LastError), clip(want))
		}
	}
	// A replay of what was stored works like any other.
	if n, err := s.Replay(t.Context(), bridge.ReplayRequest{Key: "nul", Now: at(time.Minute)}); err != nil || n != 1 {
		t.Fatalf("Replay(nul): %d, %v; want 1", n, err)
	}
}

func testSafeRetry(t *testing.T, h Harness) {
	s := h.Open(t)
	for i, msg := range []string{nulText, invalidUTF8, longText} {
		key := []string{"nul", "utf8", "long"}[i]
		d := time.Duration(i) * time.Second
		accept(t, s, firing(key, d), bridge.DecisionCreate)
		dl := claimOne(t, s, ownerA, d)
		if err := s.Retry(t.Context(), bridge.RetryRequest{
			ID: dl.ID, Owner: ownerA, NextAttempt: at(d + time.Hour), LastError: msg, Now: at(d),
		}); err != nil {
			t.Fatalf("Retry(%s): %v", key, err)
		}
		it := item(t, s, key)
		checkSafe(t, key+" LastError", it.LastError, msg, bridge.MaxTextBytes)
		if it.LeaseOwner != "" || !it.NextAttempt.Equal(at(d+time.Hour)) {
			t.Errorf("%s: retry not applied: lease %q, next %v", key, it.LeaseOwner, it.NextAttempt)
		}
	}
	if it := item(t, s, "nul"); it.LastError != nulSafe {
		t.Errorf("nul: LastError %q, want %q", it.LastError, nulSafe)
	}
}

func testSafeRefresh(t *testing.T, h Harness) {
	s := h.Open(t)
	open(t, s, "k1", "ISU1", 0)
	if err := s.RecordCheck(t.Context(), bridge.Check{
		Key: "k1", TicketID: "ISU1", Status: "status\x00\xff", Error: longText, Now: at(time.Minute),
	}); err != nil {
		t.Fatalf("RecordCheck: %v", err)
	}
	e := entry(t, s, "k1")
	checkSafe(t, "TicketStatus", e.TicketStatus, "status\x00\xff", bridge.MaxNameBytes)
	checkSafe(t, "LastError", e.LastError, longText, bridge.MaxTextBytes)
	if e.TicketStatus != "status\uFFFD\uFFFD" {
		t.Errorf("TicketStatus %q, want %q", e.TicketStatus, "status\uFFFD\uFFFD")
	}
	if err := s.RecordCheck(t.Context(), bridge.Check{
		Key: "k1", TicketID: "ISU1", Error: nulText, Now: at(2 * time.Minute),
	}); err != nil {
		t.Fatalf("RecordCheck: %v", err)
	}
	if e := entry(t, s, "k1"); e.LastError != nulSafe {
		t.Errorf("LastError %q, want %q", e.LastError, nulSafe)
	}
	long := strings.Repeat("s", 1000)
	if err := s.Release(t.Context(), bridge.Release{
		Key: "k1", TicketID: "ISU1", Status: long, Now: at(3 * time.Minute),
	}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	e = entry(t, s, "k1")
	if e.State != bridge.StateClosed {
		t.Errorf("state %s, want closed", e.State)
	}
	checkSafe(t, "released TicketStatus", e.TicketStatus, long, bridge.MaxNameBytes)
	if !strings.HasSuffix(e.TicketStatus, "…") || len(e.TicketStatus) != bridge.MaxNameBytes {
		t.Errorf("released TicketStatus of %d bytes %q: want it cut to %d bytes, ending in …",
			len(e.TicketStatus), clip(e.TicketStatus), bridge.MaxNameBytes)
	}
}

func testSafeComplete(t *testing.T, h Harness) {
	s := h.Open(t)
	const id = "ISU\x00\xff1"
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	complete(t, s, claimOne(t, s, ownerA, 0), ownerA, id, 0)
	e := entry(t, s, "k1")
	if e.State != bridge.StateOpen || e.TicketID != "ISU\uFFFD\uFFFD1" {
		t.Fatalf("entry %s %q, want open ISU\uFFFD\uFFFD1", e.State, e.TicketID)
	}
	// The refresher names the ticket as the ledger has it, and a caller
	// that passes COC's raw id again still names the same ticket.
	for i, tid := range []string{e.TicketID, id} {
		if err := s.RecordCheck(t.Context(), bridge.Check{
			Key: "k1", TicketID: tid, Status: "open", Now: at(time.Duration(i+1) * time.Minute),
		}); err != nil {
			t.Errorf("RecordCheck(%q): %v", tid, err)
		}
	}
	if err := s.Release(t.Context(), bridge.Release{Key: "k1", TicketID: id, Status: "done", Now: at(time.Hour)}); err != nil {
		t.Fatalf("Release(%q): %v", id, err)
	}
	if e := entry(t, s, "k1"); e.State != bridge.StateClosed {
		t.Errorf("state %s after Release, want closed", e.State)
	}
}
