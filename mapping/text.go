package mapping

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

// DefaultTitleTemplate renders titles like Alertmanager's own subject:
// "[FIRING:2] HighErrorRate api-gateway (prod)", the status, the group label
// values, and in parentheses the values of the other labels all alerts share.
const DefaultTitleTemplate = `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .NumFiring }}{{ end }}] ` +
	`{{ .GroupLabels.SortedPairs.Values | join " " }}` +
	`{{ with .CommonLabels.Remove .GroupLabels.Names }} ({{ .Values | join " " }}){{ end }}`

// DefaultDescriptionTemplate renders descriptions in COC's own convention
// ([Symptom], [Impact on the live network]) followed by the alerts with their
// labels, annotations and source link, the Alertmanager link, the previous
// ticket of the key, and how many alerts Alertmanager left out.
const DefaultDescriptionTemplate = `[Symptom] {{ .NumFiring }} alert(s) firing
{{- if .NumResolved }}, {{ .NumResolved }} resolved{{ end }} for receiver {{ .Receiver }}
{{- with .GroupLabels }} {{ printf "{%s}" .SortedPairs }}{{ end }}
[Impact on the live network] {{ with .CommonAnnotations.summary }}{{ . }}{{ else }}
{{- with .CommonAnnotations.description }}{{ . }}{{ else }}see the alerts below{{ end }}{{ end }}
[Alerts]
{{- range .Alerts }}
- {{ with .Labels.alertname }}{{ . }}{{ else }}alert{{ end }} ({{ with index .Labels $.SeverityLabel }}{{ . }}{{ else }}no severity{{ end }})
{{- if not .StartsAt.IsZero }} since {{ .StartsAt.UTC.Format "2006-01-02T15:04:05Z07:00" }}{{ end }}
{{- if eq .Status "resolved" }}, resolved{{ if not .EndsAt.IsZero }} at {{ .EndsAt.UTC.Format "2006-01-02T15:04:05Z07:00" }}{{ end }}{{ end }}
  Labels: {{ .Labels.SortedPairs }}
{{- with .Annotations }}
  Annotations: {{ .SortedPairs }}
{{- end }}
{{- with .GeneratorURL }}
  Source: {{ . }}
{{- end }}
{{- end }}
{{- with .AlertmanagerURL }}
[Alertmanager] {{ . }}
{{- end }}
{{- with .PreviousTicketID }}
Previous ticket: {{ . }}
{{- end }}
{{- with .TruncatedAlerts }}
+{{ . }} more alerts (truncated by Alertmanager)
{{- end }}`

// TemplateData is what the title and description templates see. The
// embedded template.Data gives everything Alertmanager's own templates use
// (.Status, .Alerts, .Alerts.Firing, .GroupLabels, .CommonLabels,
// .CommonAnnotations, .ExternalURL, .Receiver unescaped), and Alertmanager's
// functions (toUpper, join, reReplaceAll, ...) and named templates
// (__subject, ...) are available.
//
// When a description is longer than the configured limit it is rendered
// again with fewer alerts (resolved ones leave first, then the last firing
// ones): .Alerts then holds the alerts shown, .OmittedAlerts how many were
// left out, and a "+N more alerts" line is appended. .NumFiring and
// .NumResolved always count every alert of the notification.
type TemplateData struct {
	*template.Data

	// GroupKey is Alertmanager's group key.
	GroupKey string
	// TruncatedAlerts is how many alerts Alertmanager left out of the body.
	TruncatedAlerts uint64
	// PreviousTicketID is the key's previous ticket, closed in COC, when
	// this ticket replaces it; "" otherwise.
	PreviousTicketID string
	// Instance is the configured instance name.
	Instance string
	// Key is the issue key (sent as source_id).
	Key string
	// SeverityLabel is the configured severity label name.
	SeverityLabel string
	// NumFiring and NumResolved count the notification's alerts.
	NumFiring, NumResolved int
	// OmittedAlerts is how many alerts were left out of .Alerts to fit the
	// description limit.
	OmittedAlerts int
}

// AlertmanagerURL returns the Alertmanager UI's view of the receiver's
// alerts, or "" without an external URL.
func (d TemplateData) AlertmanagerURL() string {
	if d.Data == nil || d.ExternalURL == "" {
		return ""
	}
	// The UI filters receivers by regular expression, hence QuoteMeta, as in
	// Alertmanager's own __alertmanagerURL template.
	return strings.TrimRight(d.ExternalURL, "/") + "/#/alerts?receiver=" + url.QueryEscape(regexp.QuoteMeta(d.Receiver))
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of s, left
// by stopping the output in the middle of a character.
func trimPartialRune(s string) string {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(s); i++ {
		c := s[len(s)-i]
		if utf8.RuneStart(c) {
			if !utf8.FullRuneInString(s[len(s)-i:]) {
				return s[:len(s)-i]
			}
			break
		}
	}
	return s
}

// cutRunes returns s if it has at most limit runes, else its first limit-1
// runes and "…".
func cutRunes(s string, limit int) string {
	if limit <= 0 {
		return ""
	}
	if len(s) <= limit || utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// renderTitle renders a title: one line, white space collapsed, at most
// limit runes.
func renderTitle(t *compiledTemplate, data TemplateData, limit int) (string, error) {
	s, _, err := t.execute(data, t.limits(max(minOutputLimit, 8*limit)))
	if err != nil {
		return "", fmt.Errorf("render title: %w", err)
	}
	return cutRunes(strings.Join(strings.Fields(s), " "), limit), nil
}

// trimSlack is the white space a re-render of the description may write at
// its ends beyond the 4 bytes per rune of the limit.
const trimSlack = 64 << 10

// renderDescription renders a description of at most limit runes. With a
// previous ticket, the text names it: a "Previous ticket:" line is added when
// the template does not print its id. A text that is too long is rendered
// again with fewer alerts, the largest number that fits (binary search: a
// handful of renders even for thousands of alerts), and ends with a "+N
// more alerts" line. When not even the text without alerts fits, it is cut,
// followed by the "+N more alerts" line and, when set, a "Previous ticket:"
// line; when not even those fit, the whole text is cut at limit. The
// renders share one render time; an execution limit hit by any of them is
// an error (see the limits in engine.go).
func renderDescription(t *compiledTemplate, data TemplateData, limit int) (string, error) {
	lim := t.limits(max(minOutputLimit, 8*limit))
	full, overflow, err := t.execute(data, lim)
	if err != nil {
		return "", fmt.Errorf("render description: %w", err)
	}
	full = strings.TrimSpace(full)
	if full == "" && !overflow {
		return "", errors.New("render description: the template rendered an empty text (COC requires a description)")
	}
	// A replacement ticket always names the previous one, whatever the
	// template says.
	prevLine := ""
	if p := data.PreviousTicketID; p != "" {
		prevLine = "\nPrevious ticket: " + p
	}
	withPrev := func(s string) string {
		if prevLine == "" || strings.Contains(s, data.PreviousTicketID) {
			return s
		}
		return s + prevLine
	}
	if s := withPrev(full); !overflow && utf8.RuneCountInString(s) <= limit {
		return s, nil
	}

	alerts := firingFirst(data.Alerts)
	n := len(alerts)
	// Limit runes take at most 4*limit bytes: a re-render that writes more,
	// beyond some white space trimmed at its ends, cannot fit and is
	// stopped there (over thousands of alerts each would otherwise write
	// up to the output limit).
	tryLim := lim
	tryLim.output = min(lim.output, 4*limit+trimSlack)
	// try renders the first k alerts; body is the text before the "+N more
	// alerts" line, ok says whether the whole fits. Its error is an
	// execution limit: the re-renders share the text's render time.
	try := func(k int) (text, body string, ok, rendered bool, err error) {
		d := data
		dd := *data.Data
		dd.Alerts = alerts[:k]
		d.Data = &dd
		d.OmittedAlerts = n - k
		s, overflow, err := t.execute(d, tryLim)
		if errors.Is(err, errTemplateLimit) {
			return "", "", false, false, fmt.Errorf("render description: %w", err)
		}
		if err != nil {
			// A template may index alerts it expects; treat a failure
			// with fewer alerts as "does not fit".
			return "", "", false, false, nil
		}
		body = strings.TrimSpace(s)
		text = withPrev(body + moreAlertsLine(n-k))
		return text, body, !overflow && utf8.RuneCountInString(text) <= limit, true, nil
	}
	if n == 0 {
		return cutRunes(withPrev(full), limit), nil
	}
	best, body0, ok, rendered, err := try(0)
	if err != nil {
		return "", err
	}
	if ok {
		lo, hi := 1, n-1
		for lo <= hi {
			mid := lo + (hi-lo)/2
			s, _, ok, _, err := try(mid)
			if err != nil {
				return "", err
			}
			if ok {
				best, lo = s, mid+1
			} else {
				hi = mid - 1
			}
		}
		return best, nil
	}
	if rendered {
		// Not even the text without alerts fits: cut it, keep the count.
		// The cut may remove the line naming the previous ticket; it
		// matters more than the rest of the text.
		more := moreAlertsLine(n)
		if room := limit - utf8.RuneCountInString(more+prevLine); room >= 1 {
			return withPrev(cutRunes(body0, room) + more), nil
		}
	}
	return cutRunes(full, limit), nil
}

// moreAlertsLine says how many alerts the description leaves out.
func moreAlertsLine(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "\n+1 more alert (left out to fit the description limit)"
	}
	return fmt.Sprintf("\n+%d more alerts (left out to fit the description limit)", n)
}

// firingFirst returns the alerts with the firing ones first, each part in
// its original order: when alerts must be left out, resolved ones go first.
func firingFirst(alerts template.Alerts) template.Alerts {
	out := make(template.Alerts, 0, len(alerts))
	for _, a := range alerts {
		if a.Status == StatusFiring {
			out = append(out, a)
		}
	}
	for _, a := range alerts {
		if a.Status != StatusFiring {
			out = append(out, a)
		}
	}
	return out
}
