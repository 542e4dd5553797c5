package mapping

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

// MaxActionTextRunes bounds each text the bridge writes into a COC action
// (up_down_grade_reason_comment, revocation_reason, solution), in runes. COC
// documents no limit; 1000 keeps a dozen alert names and fits the text areas
// of COC's own forms.
const MaxActionTextRunes = 1000

// Bounds of the parts of an action text, in runes, so that one huge label
// cannot push out the rest.
const (
	maxGroupRunes     = 200
	maxAlertNameRunes = 100
	maxSeverityRunes  = 40
	maxReceiverRunes  = 100
)

// actionTime is how action texts write times: UTC, to the second.
const actionTime = "2006-01-02T15:04:05Z07:00"

// LevelChangeReason returns the up_down_grade_reason_comment of a level
// change of msg's ticket from the level COC has (from; "" when unknown) to
// the level msg maps to (to), decided at at: the direction, both levels, the
// time, the alerts at the new level with their severity, and the group. It
// is never empty, valid UTF-8 and at most MaxActionTextRunes long, whatever
// msg holds (nil included).
func (m *Mapper) LevelChangeReason(msg *Message, from, to string, at time.Time) string {
	verb := "changed"
	switch fr, tr := levelRank(from), levelRank(to); {
	case fr != 0 && tr != 0 && tr < fr:
		verb = "raised"
	case fr != 0 && tr != 0 && tr > fr:
		verb = "lowered"
	}
	head := fmt.Sprintf("Level %s from %s to %s by coc-bridge at %s.",
		verb, levelLabel(from), levelLabel(to), formatActionTime(at))
	if msg == nil || msg.Data == nil {
		return cutRunes(head, MaxActionTextRunes)
	}
	p := m.profile(msg.Receiver)
	deciding := decidingAlerts(msg)
	atLevel := make(template.Alerts, 0, len(deciding))
	for _, a := range deciding {
		if p.alertLevel(a, m.cfg.SeverityLabel, m.cfg.DefaultLevel) == to {
			atLevel = append(atLevel, a)
		}
	}
	label := "At the new level:"
	if len(atLevel) == 0 {
		atLevel, label = deciding, "Alerts:"
	}
	firing, resolved := countStatus(msg.Alerts)
	tail := fmt.Sprintf(" Group %s of receiver %s: %d firing, %d resolved.",
		groupText(msg), cleanText(msg.Receiver, maxReceiverRunes), firing, resolved)
	return m.withAlerts(head, label, atLevel, tail)
}

// RevocationReason returns the revocation_reason of cancelling msg's ticket
// because every alert of its group resolved before the ticket was accepted:
// it names the resolve time (see resolvedAt), the group and the alerts. Never
// empty, valid UTF-8, at most MaxActionTextRunes long.
func (m *Mapper) RevocationReason(msg *Message, received time.Time) string {
	return m.resolvedText(msg, received,
		"Cancelled by coc-bridge: all alerts of the group resolved at %s, before the ticket was accepted.",
		"Cancelled by coc-bridge: %[2]s of group %[3]s (receiver %[4]s) resolved at %[1]s, before the ticket was accepted.")
}

// SolutionText returns the solution of the submitting_question action sent
// when every alert of msg's group resolved: the alerts resolved at T (see
// resolvedAt), the group and the alerts. Never empty, valid UTF-8, at most
// MaxActionTextRunes long.
func (m *Mapper) SolutionText(msg *Message, received time.Time) string {
	return m.resolvedText(msg, received,
		"The alerts resolved at %s; submitted by coc-bridge when the group resolved.",
		"The alerts resolved at %[1]s: %[2]s of group %[3]s (receiver %[4]s) ended in Alertmanager; submitted by coc-bridge.")
}

// resolvedText is the text of an action on msg's ticket because its group
// resolved: the format short of the resolve time (see resolvedAt) when msg
// holds no notification, else the format long of the resolve time, the
// alerts, the group and the receiver, followed by the resolved alerts.
func (m *Mapper) resolvedText(msg *Message, received time.Time, short, long string) string {
	at := formatActionTime(resolvedAt(msg, received))
	if msg == nil || msg.Data == nil {
		return cutRunes(fmt.Sprintf(short, at), MaxActionTextRunes)
	}
	head := fmt.Sprintf(long, at, allAlerts(msg), groupText(msg), cleanText(msg.Receiver, maxReceiverRunes))
	return m.withAlerts(head, "Resolved:", msg.Alerts, "")
}

// withAlerts returns head, then label and the alerts as "2× Name (severity
// s)" entries in order of first appearance (as many as fit, then "and N
// more"), then tail, within MaxActionTextRunes. Without alerts, label is
// left out.
func (m *Mapper) withAlerts(head, label string, alerts template.Alerts, tail string) string {
	type entry struct {
		name, severity string
		n              int
	}
	var entries []entry
	index := map[[2]string]int{}
	for _, a := range alerts {
		k := [2]string{cleanText(a.Labels["alertname"], maxAlertNameRunes), cleanText(a.Labels[m.cfg.SeverityLabel], maxSeverityRunes)}
		if i, ok := index[k]; ok {
			entries[i].n++
			continue
		}
		index[k] = len(entries)
		entries = append(entries, entry{name: k[0], severity: k[1], n: 1})
	}
	var b strings.Builder
	b.WriteString(head)
	if len(entries) > 0 {
		b.WriteString(" " + label)
	}
	// Room for the longest "and N more" and the tail.
	room := MaxActionTextRunes - utf8.RuneCountInString(b.String()) - utf8.RuneCountInString(tail) - len(" and 999999 more.")
	used := 0
	for i, e := range entries {
		s := e.name
		if s == "" {
			s = "alert"
		}
		if e.n > 1 {
			s = fmt.Sprintf("%d× %s", e.n, s)
		}
		if e.severity != "" {
			s += " (severity " + e.severity + ")"
		} else {
			s += " (no severity)"
		}
		sep := " "
		if i > 0 {
			sep = ", "
		}
		n := utf8.RuneCountInString(sep + s)
		if used+n > room {
			fmt.Fprintf(&b, " and %d more", len(entries)-i)
			break
		}
		b.WriteString(sep + s)
		used += n
	}
	if len(entries) > 0 {
		b.WriteString(".")
	}
	b.WriteString(tail)
	return cutRunes(b.String(), MaxActionTextRunes)
}

// decidingAlerts returns the alerts that decide a message's level: the
// firing ones, or all when none fires.
func decidingAlerts(msg *Message) template.Alerts {
	firing := msg.Alerts.Firing()
	if len(firing) > 0 {
		return firing
	}
	return msg.Alerts
}

// alertLevel returns the level of one alert.
func (p *profile) alertLevel(a template.Alert, label, defaultLevel string) string {
	if l, ok := p.levels[normalizeSeverity(a.Labels[label])]; ok {
		return l
	}
	return defaultLevel
}

// resolvedAt is when msg's group resolved: the latest end of its resolved
// alerts, or received (when the bridge received the notification) when no
// alert has an end time.
func resolvedAt(msg *Message, received time.Time) time.Time {
	var latest time.Time
	if msg != nil && msg.Data != nil {
		for _, a := range msg.Alerts {
			if a.Status == StatusResolved && a.EndsAt.After(latest) {
				latest = a.EndsAt
			}
		}
	}
	if latest.IsZero() {
		return received
	}
	return latest
}

func countStatus(alerts template.Alerts) (firing, resolved int) {
	for _, a := range alerts {
		if a.Status == StatusFiring {
			firing++
		} else {
			resolved++
		}
	}
	return firing, resolved
}

// allAlerts names the group's alerts with their number, those Alertmanager
// left out of the body included: "all 3 alerts", "the alert".
func allAlerts(msg *Message) string {
	n := uint64(len(msg.Alerts)) + msg.TruncatedAlerts
	if n == 1 {
		return "the alert"
	}
	return fmt.Sprintf("all %d alerts", n)
}

// groupText writes the group labels as the default description does.
func groupText(msg *Message) string {
	return "{" + cleanText(msg.GroupLabels.SortedPairs().String(), maxGroupRunes) + "}"
}

// levelLabel names a level with its meaning: "issues_level_1000 (critical)".
func levelLabel(level string) string {
	switch level {
	case "":
		return "an unknown level"
	case Level1000:
		return level + " (critical)"
	case Level2000:
		return level + " (major)"
	case Level3000:
		return level + " (minor)"
	case Level4000:
		return level + " (warning)"
	}
	return cleanText(level, maxSeverityRunes)
}

func formatActionTime(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format(actionTime)
}

// cleanText makes a label value fit into one line of an action text: valid
// UTF-8, control characters and runs of white space as one space, at most
// limit runes.
func cleanText(s string, limit int) string {
	if len(s) > 8*limit {
		// Enough for limit runes after white space is collapsed, mostly;
		// no need to clean a megabyte to keep a hundred runes of it.
		s = trimPartialRune(s[:8*limit])
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return cutRunes(strings.Join(strings.Fields(s), " "), limit)
}
