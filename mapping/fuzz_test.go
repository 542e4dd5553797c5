package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// seedBodies returns the testdata payloads and a few edge cases.
func seedBodies(f *testing.F) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	var bodies [][]byte
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	return append(bodies,
		[]byte(validBody),
		[]byte(`{"version":"4","status":"firing","receiver":"\\","alerts":[{"status":"firing","labels":{"region":",,a,\u0000"}}]}`),
		[]byte(`{"version":"4","status":"resolved","receiver":"r\\.","alerts":[{"status":"resolved","startsAt":"1960-01-01T00:00:00Z"}],"truncatedAlerts":18446744073709551615}`),
		[]byte(`null`),
		[]byte(`{"version":"4","alerts":[null]}`))
}

// Decode never panics, and a message it accepts validates and survives the
// round trip through JSON.
func FuzzDecode(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := Decode(body)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T is not an *InputError: %v", err, err)
			}
			if msg != nil {
				t.Fatal("a message with an error")
			}
			return
		}
		if err := msg.Validate(); err != nil {
			t.Fatalf("Decode accepted a message that does not validate: %v", err)
		}
		raw, err := json.Marshal(msg)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := Decode(raw)
		if err != nil {
			t.Fatalf("Decode(Marshal(msg)): %v", err)
		}
		if again.Receiver != msg.Receiver || len(again.Alerts) != len(msg.Alerts) || again.GroupKey != msg.GroupKey {
			t.Fatalf("round trip changed the message")
		}
	})
}

// Decode then Split and Map never panic, and every ticket holds the
// invariants: valid UTF-8, within the rune limits, a COC level, at most 100
// regions, a 64-digit key. Besides the body, the fuzzer drives the text of a
// synthetic notification (receiver, severity, region, label and annotation
// text, number of alerts), since most mutated bodies are not valid JSON.
func FuzzMap(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body, "web\\.hook", "critical", "cn-north-4, cn-south-1", "磁盘空间不足 🔥💾", uint8(3))
	}
	f.Add([]byte(`{}`), "r", "", ",,", "a\xffb\x00", uint8(200))
	f.Add([]byte(`{}`), "", " Warning ", "", strings.Repeat("长", 700), uint8(1))
	var mappers []*Mapper
	for _, mode := range []KeyMode{KeyByGroup, KeyByAlert, KeyByGroupKey} {
		cfg := testConfig()
		cfg.DedupeBy = mode
		cfg.MaxTitleRunes = 40
		cfg.MaxDescriptionRunes = 600
		cfg.RegionLabels = []string{"region", "zone"}
		cfg.Receivers = map[string]Receiver{"r": {Levels: map[string]string{"x": Level1000}, DefaultRegion: "d"}}
		mappers = append(mappers, mustMapper(f, cfg))
	}
	mappers = append(mappers, mustMapper(f, testConfig()))
	f.Fuzz(func(t *testing.T, body []byte, receiver, severity, region, text string, n uint8) {
		var msgs []*Message
		if msg := synthetic(receiver, severity, region, text, int(n)); msg.Validate() == nil {
			msgs = append(msgs, msg) // not with an empty receiver
		}
		if msg, err := Decode(body); err == nil {
			msgs = append(msgs, msg)
		}
		for _, msg := range msgs {
			for _, m := range mappers {
				for _, part := range m.Split(msg) {
					tk, err := m.Map(part, MapOptions{PreviousTicketID: "ISU1"})
					if err != nil {
						t.Fatalf("Map: %v", err)
					}
					checkTicket(t, m, tk)
					if level, unknown := m.Level(part); level != tk.Level || unknown != tk.UnknownSeverities {
						t.Fatalf("Level() disagrees with Map")
					}
				}
			}
		}
	})
}

// synthetic builds a notification of 1 to 40 alerts from fuzzed
// text. It is what json decoding would give: valid UTF-8 everywhere.
func synthetic(receiver, severity, region, text string, n int) *Message {
	v := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	specs := make([]alertSpec, n%40+1)
	for i := range specs {
		specs[i] = alertSpec{severity: v(severity), region: v(region), labels: map[string]string{"text": v(text)}}
		if i%2 == 1 {
			specs[i].status = StatusResolved
		}
	}
	msg := testMessage(v(receiver), specs...)
	msg.CommonAnnotations["summary"] = v(text)
	msg.CommonLabels["text"] = v(text)
	msg.TruncatedAlerts = uint64(n)
	return msg
}

// fuzzSteps is the step limit while fuzzing templates: low, so that a
// looping template costs milliseconds (the limits themselves are tested in
// limits_test.go).
const fuzzSteps = 20000

// ParseConfigYAML never panics and leaves base alone; a configuration it
// returns validates or not without panicking, New agrees with Validate,
// and the mapper it builds maps sample notifications within the limits,
// or fails with an error. YAML's own bombs (aliases expanding to huge
// documents, deep nesting) are errors.
func FuzzConfigYAML(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("instance: prod\nfields:\n  issue_contact_person: u1\nlevels:\n  page: issues_level_1000\nreceivers:\n  web.hook:\n    title: '{{ .Receiver }}'\n    levels: {ticket: issues_level_2000}\n"))
	f.Add([]byte("description: '{{ range .Alerts }}{{ range $.Alerts }}{{ end }}{{ end }}x'\n"))
	f.Add([]byte("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"))
	f.Add([]byte(strings.Repeat("[", 10000)))
	f.Add([]byte("instance: a\ninstance: b\n"))
	f.Add([]byte("max_title_runes: -1\ndedupe_by: nope\nregion_labels: ['a b', '']\n"))
	f.Add([]byte("---\ninstance: a\n---\ninstance: b\n"))
	base := testConfig()
	msgs := []*Message{bigMessage(3, true), testMessage("web.hook", alertSpec{severity: "page", region: "cn-north-4"})}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := base.clone()
		cfg, err := ParseConfigYAML(data, base)
		if !reflect.DeepEqual(base, before) {
			t.Fatal("ParseConfigYAML modified base")
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			if !reflect.DeepEqual(cfg, base) {
				t.Fatal("an error, and not base")
			}
			return
		}
		verr := cfg.Validate()
		m, err := New(cfg)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Validate says %v, New says %v", verr, err)
		}
		if err != nil {
			return
		}
		lowerLimits(m, fuzzSteps)
		for _, msg := range msgs {
			for _, part := range m.Split(msg) {
				if tk, err := m.Map(part, MapOptions{PreviousTicketID: "ISU1"}); err == nil {
					checkTicket(t, m, tk)
				}
			}
		}
	})
}

// A template that validates (New) maps sample notifications within the limits or
// fails with an error: never a panic, never a text over its limit, never
// an end past the execution limits. The fuzzer drives the title and the
// description, the text in the alerts and the limits.
func FuzzTemplate(f *testing.F) {
	seeds := []string{
		DefaultTitleTemplate,
		DefaultDescriptionTemplate,
		`{{ template "__subject" . }}`,
		`{{ template "__text_alert_list" .Alerts }}`,
		`{{ range .Alerts }}{{ range $.Alerts }}{{ .Labels.text }}{{ end }}{{ end }}`,
		`{{ range 1000000000 }}{{ end }}`,
		`{{ define "x" }}{{ template "x" . }}{{ end }}{{ template "x" . }}`,
		`{{ printf "%*d|%-8.3q|%[1]x|%v" 1000000 .CommonLabels.text .Alerts }}`,
		`{{ .CommonLabels.text | toUpper | html | js | urlquery }}`,
		`{{ toJson . }}{{ index .Alerts 99 }}`,
		`{{ (index .Alerts 0).StartsAt.In nil }}`,
		`{{ stringSlice .CommonLabels.text "a" | join .CommonLabels.text }}`,
		`{{ with .Alerts.Firing }}{{ len . }}{{ else }}none{{ end }}{{ range $k, $v := .CommonLabels }}{{ $k }}={{ $v }}{{ break }}{{ end }}`,
	}
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], "磁盘空间不足 🔥 a\xffb", uint8(i*17))
	}
	f.Fuzz(func(t *testing.T, title, description, text string, n uint8) {
		cfg := testConfig()
		cfg.Title, cfg.Description = title, description
		cfg.MaxTitleRunes = 1 + int(n)
		cfg.MaxDescriptionRunes = 1 + int(n)*40
		m, err := New(cfg) // validates
		if err != nil {
			return
		}
		lowerLimits(m, fuzzSteps)
		msg := synthetic("r", "critical", "cn-north-4", text, int(n))
		for _, part := range m.Split(msg) {
			tk, err := m.Map(part, MapOptions{PreviousTicketID: "ISU1"})
			if err != nil {
				var ie *InputError
				if errors.As(err, &ie) || err.Error() == "" {
					t.Fatalf("a template failure reported as %T %q", err, err)
				}
				continue
			}
			checkTicket(t, m, tk)
		}
	})
}
