package mapping

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

var (
	textAt    = time.Date(2026, 12, 3, 23, 5, 0, 0, time.FixedZone("CET", 3600))
	textStart = time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)
	textEnd   = time.Date(2026, 12, 3, 22, 30, 0, 0, time.UTC)
)

// escalated is a group that fired as warning and gained two critical
// alerts and one page (a severity the receiver maps to critical).
func escalated() *Message {
	msg := testMessage("team-a",
		alertSpec{severity: "warning", startsAt: textStart},
		alertSpec{severity: "critical", labels: template.KV{"alertname": "HighErrorRate"}},
		alertSpec{severity: "critical", labels: template.KV{"alertname": "HighErrorRate"}},
		alertSpec{severity: "page", labels: template.KV{"alertname": "Down"}},
		alertSpec{status: StatusResolved, severity: "critical", labels: template.KV{"alertname": "Old"}},
	)
	msg.GroupLabels = template.KV{"alertname": "Test", "env": "prod"}
	return msg
}

func resolvedGroup() *Message {
	msg := testMessage("team-a",
		alertSpec{status: StatusResolved, severity: "critical", labels: template.KV{"alertname": "HighErrorRate"}},
		alertSpec{status: StatusResolved, severity: "critical", labels: template.KV{"alertname": "HighErrorRate"}},
		alertSpec{status: StatusResolved},
	)
	msg.Alerts[0].EndsAt = textEnd.Add(-time.Minute)
	msg.Alerts[1].EndsAt = textEnd
	return msg
}

func textMapper(t *testing.T) *Mapper {
	c := testConfig()
	c.Receivers = map[string]Receiver{"team-a": {Levels: map[string]string{"page": Level1000}}}
	return mustMapper(t, c)
}

func TestLevelChangeReason(t *testing.T) {
	t.Parallel()
	m := textMapper(t)
	down := testMessage("team-a", alertSpec{severity: "warning"}, alertSpec{severity: "info", labels: template.KV{"alertname": "Slow"}})
	cases := []struct {
		name     string
		msg      *Message
		from, to string
		want     string
	}{
		{"escalation", escalated(), Level4000, Level1000,
			"Level raised from issues_level_4000 (warning) to issues_level_1000 (critical) by coc-bridge at 2026-12-03T22:05:00Z. " +
				"At the new level: 2× HighErrorRate (severity critical), Down (severity page). " +
				"Group {alertname=Test, env=prod} of receiver team-a: 4 firing, 1 resolved."},
		{"de-escalation", down, Level1000, Level4000,
			"Level lowered from issues_level_1000 (critical) to issues_level_4000 (warning) by coc-bridge at 2026-12-03T22:05:00Z. " +
				"At the new level: Test (severity warning), Slow (severity info). " +
				"Group {alertname=Test} of receiver team-a: 2 firing, 0 resolved."},
		{"unknown COC level", down, "", Level4000,
			"Level changed from an unknown level to issues_level_4000 (warning) by coc-bridge at 2026-12-03T22:05:00Z. " +
				"At the new level: Test (severity warning), Slow (severity info). " +
				"Group {alertname=Test} of receiver team-a: 2 firing, 0 resolved."},
		{"no alert at the new level", down, Level4000, Level2000,
			"Level raised from issues_level_4000 (warning) to issues_level_2000 (major) by coc-bridge at 2026-12-03T22:05:00Z. " +
				"Alerts: Test (severity warning), Slow (severity info). " +
				"Group {alertname=Test} of receiver team-a: 2 firing, 0 resolved."},
		{"no severity", testMessage("other", alertSpec{}), Level1000, Level3000,
			"Level lowered from issues_level_1000 (critical) to issues_level_3000 (minor) by coc-bridge at 2026-12-03T22:05:00Z. " +
				"At the new level: Test (no severity). Group {alertname=Test} of receiver other: 1 firing, 0 resolved."},
		{"no message", nil, Level3000, Level1000,
			"Level raised from issues_level_3000 (minor) to issues_level_1000 (critical) by coc-bridge at 2026-12-03T22:05:00Z."},
		{"no time", &Message{}, "", "", "Level changed from an unknown level to an unknown level by coc-bridge at an unknown time."},
	}
	for _, tc := range cases {
		at := textAt
		if tc.name == "no time" {
			at = time.Time{}
		}
		if got := m.LevelChangeReason(tc.msg, tc.from, tc.to, at); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestRevocationReason(t *testing.T) {
	t.Parallel()
	m := textMapper(t)
	noEnd := testMessage("team-a", alertSpec{status: StatusResolved, severity: "minor"})
	noEnd.TruncatedAlerts = 2
	cases := []struct {
		name string
		msg  *Message
		want string
	}{
		{"latest end", resolvedGroup(),
			"Cancelled by coc-bridge: all 3 alerts of group {alertname=Test} (receiver team-a) resolved at 2026-12-03T22:30:00Z, before the ticket was accepted. " +
				"Resolved: 2× HighErrorRate (severity critical), Test (no severity)."},
		{"no end time: when received; truncated alerts count", noEnd,
			"Cancelled by coc-bridge: all 3 alerts of group {alertname=Test} (receiver team-a) resolved at 2026-12-03T22:05:00Z, before the ticket was accepted. " +
				"Resolved: Test (severity minor)."},
		{"no message", nil,
			"Cancelled by coc-bridge: all alerts of the group resolved at 2026-12-03T22:05:00Z, before the ticket was accepted."},
	}
	for _, tc := range cases {
		if got := m.RevocationReason(tc.msg, textAt); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestSolutionText(t *testing.T) {
	t.Parallel()
	m := textMapper(t)
	one := testMessage("team-a", alertSpec{status: StatusResolved, severity: "critical"})
	one.GroupLabels = template.KV{}
	cases := []struct {
		name string
		msg  *Message
		want string
	}{
		{"latest end", resolvedGroup(),
			"The alerts resolved at 2026-12-03T22:30:00Z: all 3 alerts of group {alertname=Test} (receiver team-a) ended in Alertmanager; submitted by coc-bridge. " +
				"Resolved: 2× HighErrorRate (severity critical), Test (no severity)."},
		{"one alert, no group labels", one,
			"The alerts resolved at 2026-12-03T22:05:00Z: the alert of group {} (receiver team-a) ended in Alertmanager; submitted by coc-bridge. " +
				"Resolved: Test (severity critical)."},
		{"no alerts", &Message{Data: &template.Data{Receiver: "r"}},
			"The alerts resolved at 2026-12-03T22:05:00Z: all 0 alerts of group {} (receiver r) ended in Alertmanager; submitted by coc-bridge."},
		{"no message", nil, "The alerts resolved at 2026-12-03T22:05:00Z; submitted by coc-bridge when the group resolved."},
	}
	for _, tc := range cases {
		if got := m.SolutionText(tc.msg, textAt); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// Whatever the alerts hold, the texts are one line of valid UTF-8, never
// empty, within MaxActionTextRunes, and list as many alerts as fit.
func TestReasonAndSolutionBounds(t *testing.T) {
	t.Parallel()
	m := textMapper(t)
	many := func(name string, n int, status string) *Message {
		specs := make([]alertSpec, n)
		for i := range specs {
			specs[i] = alertSpec{status: status, severity: "critical", labels: template.KV{"alertname": fmt.Sprintf("%s%d", name, i)}}
		}
		return testMessage("team-a", specs...)
	}
	huge := testMessage(strings.Repeat("r", 1<<20), alertSpec{status: StatusResolved, severity: strings.Repeat("s", 1<<20),
		labels: template.KV{"alertname": strings.Repeat("告警", 1<<19)}})
	huge.GroupLabels = template.KV{"alertname": strings.Repeat("組", 1<<20)}
	hostile := testMessage("team\x00a\n", alertSpec{status: StatusResolved, severity: "crit\xffical",
		labels: template.KV{"alertname": "line\nbreak\ttab\x1b[31m"}})
	cases := []struct {
		name string
		msg  *Message
		more string // the "and N more" the list must end with; "" none
	}{
		{"many firing", many("HighErrorRate", 500, StatusFiring), "more"},
		{"many resolved", many("告警", 500, StatusResolved), "more"},
		{"huge labels", huge, ""},
		{"hostile", hostile, ""},
	}
	for _, tc := range cases {
		texts := map[string]string{
			"level":      m.LevelChangeReason(tc.msg, Level4000, Level1000, textAt),
			"revocation": m.RevocationReason(tc.msg, textAt),
			"solution":   m.SolutionText(tc.msg, textAt),
		}
		for kind, s := range texts {
			n := utf8.RuneCountInString(s)
			switch {
			case s == "" || n > MaxActionTextRunes:
				t.Errorf("%s %s: %d runes", tc.name, kind, n)
			case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
				t.Errorf("%s %s: not one line of valid text: %q", tc.name, kind, s)
			case tc.more != "" && !strings.Contains(s, " more"):
				t.Errorf("%s %s: no \"and N more\": %q", tc.name, kind, s)
			case tc.more != "" && n < MaxActionTextRunes-150:
				t.Errorf("%s %s: %d runes: the list stops early", tc.name, kind, n)
			}
		}
	}
	// The count of the alerts left out is exact.
	s := m.RevocationReason(many("A", 500, StatusResolved), textAt)
	shown := strings.Count(s, "(severity critical)")
	if !strings.HasSuffix(s, fmt.Sprintf(" and %d more.", 500-shown)) || shown < 10 {
		t.Errorf("%d shown: %s", shown, s)
	}
	if s := m.SolutionText(hostile, textAt); !strings.Contains(s, "(receiver team a) ") ||
		!strings.HasSuffix(s, "Resolved: line break tab [31m (severity crit\uFFFDical).") {
		t.Errorf("control characters or invalid UTF-8 not replaced: %q", s)
	}
}
