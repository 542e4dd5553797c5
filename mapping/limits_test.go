package mapping

import (
	"errors"
	"fmt"
	tmplhtml "html/template"
	"strings"
	"sync"
	"testing"
	tmpltext "text/template"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

// mapWith maps msg with a mapper whose description is desc.
func mapWith(t *testing.T, desc string, msg *Message) (Ticket, error) {
	t.Helper()
	cfg := testConfig()
	cfg.Description = desc
	return mustMapper(t, cfg).Map(msg, MapOptions{})
}

// wantLimit fails unless err is a template execution limit naming what.
func wantLimit(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, errTemplateLimit) || !strings.Contains(err.Error(), what) {
		t.Fatalf("error %v; want an execution limit about %q", err, what)
	}
	if !strings.HasPrefix(err.Error(), "render description: ") {
		t.Errorf("error %q does not say which text failed", err)
	}
}

func TestTemplateLoopsAreBounded(t *testing.T) {
	t.Parallel()
	many := bigMessage(10000, false)
	cases := []struct {
		name, desc string
		msg        *Message
	}{
		{"nested range over 10,000 alerts", `{{ range .Alerts }}{{ range $.Alerts }}{{ end }}{{ end }}x`, many},
		{"range over a huge integer", `{{ range 1000000000 }}{{ end }}x`, msgWith(StatusFiring)},
		{"nested ranges over integers", `{{ range 100000 }}{{ range 100000 }}{{ end }}{{ end }}x`, msgWith(StatusFiring)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := mapWith(t, tc.desc, tc.msg)
			wantLimit(t, err, fmt.Sprintf("more than %d loop iterations and template calls", maxTemplateSteps))
		})
	}
}

func TestTemplateRecursionIsBounded(t *testing.T) {
	t.Parallel()
	for _, desc := range []string{
		`{{ define "x" }}{{ template "x" . }}{{ end }}{{ template "x" . }}`,
		`{{ define "x" }}a{{ template "x" . }}{{ template "x" . }}{{ end }}{{ template "x" . }}`,
		`{{ block "x" . }}{{ with . }}{{ template "x" . }}{{ end }}{{ end }}`,
	} {
		_, err := mapWith(t, desc, msgWith(StatusFiring))
		wantLimit(t, err, fmt.Sprintf("template calls nested deeper than %d", maxTemplateDepth))
	}
	// Nesting up to the limit is fine: Alertmanager's own templates call
	// each other a few levels deep.
	tk, err := mapWith(t, `{{ template "__text_alert_list" .Alerts }}`, msgWith(StatusFiring))
	if err != nil || !strings.Contains(tk.Description, "alertname = Test") {
		t.Fatalf("Alertmanager's named template: %q, %v", tk.Description, err)
	}
}

func TestTemplatePanicsAreErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ desc, want string }{
		{`{{ reReplaceAll "(" "" "x" }}`, "error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp"},
		// A method of the data that panics (time.Time.In(nil)).
		{`{{ (index .Alerts 0).StartsAt.In nil }}`, "error calling In: time: missing Location in call to Time.In"},
		{`{{ index .Alerts 7 }}`, "error calling index: index out of range: 7"},
	} {
		_, err := mapWith(t, tc.desc, msgWith(StatusFiring))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; want %q", tc.desc, err, tc.want)
		}
	}
}

func TestTemplateHugeOutputIsCut(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Title = `{{ range 100000000 }}{{ $.Receiver }} and some more text to reach the limit sooner {{ end }}`
	cfg.Description = `{{ range 100000000 }}0123456789abcdef{{ end }}`
	tk, err := mustMapper(t, cfg).Map(msgWith(StatusFiring), MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkTicket(t, mustMapper(t, cfg), tk)
	if !strings.HasPrefix(tk.Title, "r and some more text to reach the limit sooner r and") || !strings.HasSuffix(tk.Title, "…") {
		t.Errorf("title %q", tk.Title)
	}
	if n := utf8.RuneCountInString(tk.Description); n != DefaultMaxDescriptionRunes || !strings.HasPrefix(tk.Description, "0123456789abcdef0123") {
		t.Errorf("description of %d runes starts %q", n, tk.Description[:40])
	}
}

// Recursion that branches stays within the depth limit but not within the
// step limit (run here with a lower one: a template call costs more than
// an iteration of an empty loop).
func TestTemplateBranchingRecursionIsBounded(t *testing.T) {
	t.Parallel()
	root, err := newTemplateRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Every alert calls the template again on the alerts after it: 20!
	// calls, each at depth at most 21.
	c, err := root.parse("d", `{{ define "x" }}{{ range . }}{{ template "x" (slice $ 1) }}{{ end }}{{ end }}{{ template "x" .Alerts }}x`)
	if err != nil {
		t.Fatal(err)
	}
	l := c.limits(minOutputLimit)
	l.steps = 100000
	_, _, err = c.execute(TemplateData{Data: bigMessage(20, false).Data}, l)
	if !errors.Is(err, errTemplateLimit) || !strings.Contains(err.Error(), "more than 100000 loop iterations and template calls") {
		t.Fatalf("error %v; want the step limit", err)
	}
}

// The deadline is checked every 64th write; a deadline in the past stops
// the first check.
func TestTemplateDeadline(t *testing.T) {
	t.Parallel()
	root, err := newTemplateRoot()
	if err != nil {
		t.Fatal(err)
	}
	past := limits{output: minOutputLimit, steps: maxTemplateSteps, renderTime: time.Second,
		deadline: time.Now().Add(-time.Second)}
	data := TemplateData{Data: msgWith(StatusFiring).Data}
	for _, text := range []string{`{{ range 1000 }}{{ end }}{{ toUpper "x" }}`, `{{ range 1000 }}{{ end }}`} {
		c, err := root.parse("d", text)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.execute(data, past); !errors.Is(err, errTemplateLimit) || !strings.Contains(err.Error(), "rendering took longer than") {
			t.Errorf("%s: error %v; want the time limit", text, err)
		}
		// The same instance runs again within a fresh deadline.
		out, _, err := c.execute(data, c.limits(minOutputLimit))
		if err != nil {
			t.Errorf("%s after a time-out: %v", text, err)
		}
		if text == `{{ range 1000 }}{{ end }}{{ toUpper "x" }}` && out != "X" {
			t.Errorf("%s = %q", text, out)
		}
	}
	// A template that writes fewer than 64 times never reads the clock.
	c, err := root.parse("d", `plain {{ .Receiver }}`)
	if err != nil {
		t.Fatal(err)
	}
	if out, _, err := c.execute(data, past); err != nil || out != "plain r" {
		t.Errorf("plain text = %q, %v", out, err)
	}
}

// A limit hit by one execution does not carry over to the next ones of the
// same template.
func TestTemplateLimitDoesNotStick(t *testing.T) {
	t.Parallel()
	root, err := newTemplateRoot()
	if err != nil {
		t.Fatal(err)
	}
	c, err := root.parse("d", `{{ range .Alerts }}{{ range $.Alerts }}{{ end }}{{ end }}{{ len .Alerts }} alerts`)
	if err != nil {
		t.Fatal(err)
	}
	l := c.limits(minOutputLimit)
	l.steps = 10000
	for i := range 3 {
		if _, _, err := c.execute(TemplateData{Data: bigMessage(200, false).Data}, l); !errors.Is(err, errTemplateLimit) {
			t.Fatalf("round %d, 200 alerts: %v; want the step limit", i, err)
		}
		out, _, err := c.execute(TemplateData{Data: bigMessage(3, false).Data}, l)
		if err != nil || out != "3 alerts" {
			t.Fatalf("round %d, 3 alerts: %q, %v", i, out, err)
		}
	}
}

// Instrumenting the trees changes no output: the same template rendered by
// text/template alone gives the same text.
func TestInstrumentedOutputIsUnchanged(t *testing.T) {
	t.Parallel()
	root, err := newTemplateRoot()
	if err != nil {
		t.Fatal(err)
	}
	data := TemplateData{Data: bigMessage(7, true).Data, SeverityLabel: "severity", PreviousTicketID: "ISU1", TruncatedAlerts: 3}
	for _, text := range []string{
		DefaultTitleTemplate, DefaultDescriptionTemplate,
		`{{ range $i, $a := .Alerts }}{{ if $i }}, {{ end }}{{ range .Labels.SortedPairs }}{{ .Name }}{{ else }}none{{ end }}{{ break }}{{ end }}`,
		`{{ template "__subject" . }}|{{ template "__text_alert_list" .Alerts.Firing }}`,
		`{{- range .Alerts -}} {{- with .Labels.alertname }} {{ . }} {{ end -}} {{- end -}}`,
		`{{ define "t" }}[{{ . }}]{{ end }}{{ range 3 }}{{ template "t" . }}{{ continue }}{{ end }}`,
	} {
		c, err := root.parse("d", text)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := c.execute(data, c.limits(minOutputLimit))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		// Alertmanager's engine as it comes, not instrumented.
		var plain *tmpltext.Template
		if _, err := template.FromGlobs(nil, func(t *tmpltext.Template, _ *tmplhtml.Template) { plain = t }); err != nil {
			t.Fatal(err)
		}
		if _, err := plain.New("d").Option("missingkey=zero").Parse(text); err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		if err := plain.ExecuteTemplate(&want, "d", data); err != nil {
			t.Fatal(err)
		}
		if got != want.String() {
			t.Errorf("%s:\n got %q\nwant %q", text, got, want.String())
		}
	}
}

// Executions of one Mapper in parallel do not share budgets or buffers.
func TestTemplateInstancesInParallel(t *testing.T) {
	t.Parallel()
	m := mustMapper(t, testConfig())
	msgs := make([]*Message, 8)
	want := make([]Ticket, len(msgs))
	for i := range msgs {
		msgs[i] = bigMessage(1+i*7, i%2 == 0)
		tk, err := m.Map(msgs[i], MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = tk
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for r := range 20 {
				i := (g + r) % len(msgs)
				tk, err := m.Map(msgs[i], MapOptions{})
				if err != nil || tk.Title != want[i].Title || tk.Description != want[i].Description {
					t.Errorf("message %d rendered differently in parallel: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// lowerLimits lowers the execution limits of every template of m, so that
// fuzzing spends its time on many inputs rather than on a few loops.
func lowerLimits(m *Mapper, steps int) {
	set := func(c *compiledTemplate) {
		c.steps = steps
	}
	set(m.global.title)
	set(m.global.description)
	for _, p := range m.receivers {
		set(p.title)
		set(p.description)
	}
}
