package bridge

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestFinishedDefaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		s    TicketStatus
		want string // the reason; "" = open
	}{
		// What COC documents.
		{TicketStatus{Code: StatusCompleted, Name: "Completed", Phase: PhaseCompleted}, FinishedCode},
		{TicketStatus{Code: StatusCompleted}, FinishedCode},
		{TicketStatus{Code: "ISSUES_WORK_FLOW_STATUS_12000 "}, FinishedCode},
		{TicketStatus{Code: "issues_work_flow_status_1000", Name: "Pending acceptance", Deleted: true}, FinishedDeleted},
		// Closing statuses whatever their codes are.
		{TicketStatus{Code: "issues_work_flow_status_13000", Name: "Cancelled"}, FinishedName},
		{TicketStatus{Code: "x", Name: "Canceled"}, FinishedName},
		{TicketStatus{Code: "x", Name: "Revoked"}, FinishedName},
		{TicketStatus{Code: "x", Name: "Rejected"}, FinishedName},
		{TicketStatus{Code: "x", Name: "CLOSED"}, FinishedName},
		{TicketStatus{Code: "x", Name: "Resolved-and-closed"}, FinishedName},
		{TicketStatus{Code: "x", Name: "Completed (auto)"}, FinishedName},
		{TicketStatus{Code: "x", Name: "Issue revoked by creator"}, FinishedName},
		{TicketStatus{Code: "x", Phase: PhaseCompleted}, FinishedPhase},
		{TicketStatus{Code: "x", Name: "Whatever", Phase: "Issues_Phase_4000"}, FinishedPhase},
		// Open: in progress, or a closing word that is not yet true.
		{TicketStatus{Code: "issues_work_flow_status_1000", Name: "Pending acceptance", Phase: "issues_phase_1000"}, ""},
		{TicketStatus{Code: "x", Name: "Being handled"}, ""},
		{TicketStatus{Code: "x", Name: "Rejecting"}, ""},
		{TicketStatus{Code: "x", Name: "Closing"}, ""},
		{TicketStatus{Code: "x", Name: "Cancel"}, ""},
		{TicketStatus{Code: "x", Name: "Resolved"}, ""},
		{TicketStatus{Code: "x", Name: "To be closed"}, ""},
		{TicketStatus{Code: "x", Name: "Closed, pending approval"}, ""},
		{TicketStatus{Code: "x", Name: "Not completed"}, ""},
		{TicketStatus{Code: "x", Name: "Awaiting rejected confirmation"}, ""},
		{TicketStatus{Code: "x", Name: "Unclosed"}, ""},
		{TicketStatus{Code: "issues_work_flow_status_12000x"}, ""},
		// No name from COC: the client gives the code, which holds no word.
		{TicketStatus{Code: "issues_work_flow_status_9000", Name: "issues_work_flow_status_9000"}, ""},
		{TicketStatus{}, ""},
	}
	for _, ts := range []TerminalStatuses{{}, mustTerminal(t)} {
		for _, tc := range cases {
			finished, why := ts.Finished(tc.s)
			if finished != (tc.want != "") || why != tc.want {
				t.Errorf("Finished(%+v) = %v, %q; want %q", tc.s, finished, why, tc.want)
			}
		}
	}
}

func TestFinishedOperatorList(t *testing.T) {
	t.Parallel()
	ts := mustTerminal(t, "issues_work_flow_status_9000", " Archived ", "", "issues_phase_5000",
		"!Closed, pending approval", "!issues_phase_4000", "!issues_work_flow_status_14000")
	cases := []struct {
		s    TicketStatus
		want string
	}{
		{TicketStatus{Code: "ISSUES_WORK_FLOW_STATUS_9000"}, FinishedOperator},
		{TicketStatus{Code: "x", Name: "archived"}, FinishedOperator},
		{TicketStatus{Code: "x", Phase: "issues_phase_5000"}, FinishedOperator},
		// The defaults still hold.
		{TicketStatus{Code: StatusCompleted}, FinishedCode},
		{TicketStatus{Code: "x", Name: "Cancelled"}, FinishedName},
		// Exclusions keep statuses open against the name and phase rules...
		{TicketStatus{Code: "x", Phase: PhaseCompleted}, ""},
		{TicketStatus{Code: "x", Name: "closed, pending approval"}, ""},
		{TicketStatus{Code: "issues_work_flow_status_14000", Name: "Rejected"}, ""},
		// ... but not against deletion and Completed.
		{TicketStatus{Code: StatusCompleted, Phase: PhaseCompleted}, FinishedCode},
		{TicketStatus{Code: "issues_work_flow_status_14000", Deleted: true}, FinishedDeleted},
		{TicketStatus{Code: "x", Name: "Pending acceptance"}, ""},
	}
	for _, tc := range cases {
		finished, why := ts.Finished(tc.s)
		if finished != (tc.want != "") || why != tc.want {
			t.Errorf("Finished(%+v) = %v, %q; want %q", tc.s, finished, why, tc.want)
		}
	}
}

func TestFinishedListErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		entries []string
		want    string
	}{
		{[]string{"!"}, `"!": name a status code, status name or phase after "!"`},
		{[]string{"! "}, `"!": name a status code, status name or phase after "!"`},
		{[]string{"!issues_work_flow_status_12000"}, `"!issues_work_flow_status_12000": issues_work_flow_status_12000 is Completed in COC and always finishes a ticket`},
		{[]string{"Archived", "!archived"}, `"archived" is both listed and excluded (!archived)`},
	}
	for _, tc := range cases {
		_, err := NewTerminalStatuses(tc.entries)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewTerminalStatuses(%q) = %v, want %s", tc.entries, err, tc.want)
		}
	}
	if _, err := NewTerminalStatuses(nil); err != nil {
		t.Errorf("no entries: %v", err)
	}
}

func mustTerminal(t *testing.T, entries ...string) TerminalStatuses {
	t.Helper()
	ts, err := NewTerminalStatuses(entries)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestFinishedStatusSightings(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	core, logs := observer.New(zapcore.DebugLevel)
	ss := NewStatusSightings(reg, zap.New(core))

	pending := TicketStatus{Code: "issues_work_flow_status_1000", Name: "Pending acceptance", Phase: "issues_phase_1000"}
	ss.Observe("ISU1", pending, false)
	ss.Observe("ISU2", pending, false)
	ss.Observe("ISU1", TicketStatus{Code: StatusCompleted, Name: "Completed", Phase: PhaseCompleted}, true)
	// The same code with another name is another pair.
	ss.Observe("ISU3", TicketStatus{Code: "issues_work_flow_status_1000"}, false)

	if got := testutil.ToFloat64(ss.statuses.WithLabelValues("issues_work_flow_status_1000", "Pending acceptance")); got != 2 {
		t.Errorf("pending counted %v times, want 2", got)
	}
	entries := logs.AllUntimed()
	if len(entries) != 3 {
		t.Fatalf("%d log lines, want one per first sighting (3): %+v", len(entries), entries)
	}
	first := entries[0]
	if first.Level != zapcore.WarnLevel || !strings.Contains(first.Message, "first sighting") {
		t.Errorf("first sighting logged as %v %q", first.Level, first.Message)
	}
	want := map[string]any{"ticket_id": "ISU1", "status": "issues_work_flow_status_1000",
		"status_name": "Pending acceptance", "phase": "issues_phase_1000", "finished": false}
	if got := first.ContextMap(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("first sighting fields %v, want %v", got, want)
	}
	if f := entries[1].ContextMap(); f["ticket_id"] != "ISU1" || f["finished"] != true || f["status_name"] != "Completed" {
		t.Errorf("completed sighting fields %v", f)
	}

	// Beyond the bound: counted as other, logged once.
	for i := range maxStatusSeries + 10 {
		ss.Observe(fmt.Sprintf("ISU%d", 100+i), TicketStatus{Code: fmt.Sprintf("code_%d", i), Name: "Name"}, false)
	}
	if n := testutil.CollectAndCount(ss.statuses); n != maxStatusSeries+1 {
		t.Errorf("%d series, want %d and other", n, maxStatusSeries)
	}
	// 3 pairs before, so the first 47 new codes got a series.
	if got := testutil.ToFloat64(ss.statuses.WithLabelValues("other", "other")); got != 13 {
		t.Errorf("other = %v, want 13", got)
	}
	overflow := logs.FilterMessageSnippet("more than 50 distinct").AllUntimed()
	if len(overflow) != 1 || overflow[0].Level != zapcore.WarnLevel || overflow[0].ContextMap()["ticket_id"] != "ISU147" {
		t.Errorf("overflow logged %d times: %+v", len(overflow), overflow)
	}
	if n := logs.FilterMessageSnippet("first sighting").Len(); n != maxStatusSeries {
		t.Errorf("%d first sightings logged, want %d", n, maxStatusSeries)
	}
	// Known pairs keep their own series after the bound.
	ss.Observe("ISU9", pending, false)
	if got := testutil.ToFloat64(ss.statuses.WithLabelValues("issues_work_flow_status_1000", "Pending acceptance")); got != 3 {
		t.Errorf("pending counted %v times after the bound, want 3", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// COC text that is not a valid label value (invalid UTF-8, huge) is made
// one; concurrent reads are safe.
func TestFinishedStatusSightingsHostileText(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	ss := NewStatusSightings(reg, zap.NewNop())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ss.Observe("ISU", TicketStatus{Code: "bad\xff", Name: strings.Repeat("名", 10000)}, i%2 == 0)
		})
	}
	wg.Wait()
	name := strings.Repeat("名", maxStatusLabelRunes-1) + "…"
	if got := testutil.ToFloat64(ss.statuses.WithLabelValues("bad\uFFFD", name)); got != 8 {
		t.Errorf("counted %v, want 8", got)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("gather: %v", err)
	}
}
