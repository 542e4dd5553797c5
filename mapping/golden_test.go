package mapping

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// testContact is a COC user id used as the ticket owner in tests.
const testContact = "51875a8200fd45189f94745678545bc3"

// testConfig is the configuration the tests start from: the defaults, an
// instance name and the owner the defaults require.
func testConfig() Config {
	c := DefaultConfig()
	c.Instance = "prod"
	c.Fields.IssueContactPerson = testContact
	return c
}

func mustMapper(t testing.TB, c Config) *Mapper {
	t.Helper()
	m, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// goldenCases are the payloads under testdata. Each <name>.json is an
// Alertmanager webhook body; an optional <name>.yaml is a mapping file laid
// over testConfig; <name>.golden.json holds the tickets Map returns for each
// part of Split.
var goldenCases = []struct {
	name string
	prev string // MapOptions.PreviousTicketID
}{
	{name: "firing_group"},
	{name: "resolved"},
	{name: "mixed_severity"},
	{name: "chinese_truncated"},
	{name: "alert_mode"},
	{name: "groupkey_custom", prev: "ISU20261120093000123456789"},
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := caseMapper(t, tc.name)
			body, err := os.ReadFile(filepath.Join("testdata", tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			msg, err := Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var tickets []Ticket
			for _, part := range m.Split(msg) {
				tk, err := m.Map(part, MapOptions{PreviousTicketID: tc.prev})
				if err != nil {
					t.Fatalf("Map: %v", err)
				}
				if tk.Key != m.Key(part) || tk.SourceID != tk.Key {
					t.Errorf("ticket key %q, source_id %q; Key() = %q", tk.Key, tk.SourceID, m.Key(part))
				}
				if lvl, unknown := m.Level(part); lvl != tk.Level || unknown != tk.UnknownSeverities {
					t.Errorf("Level() = %q, %d; ticket has %q, %d", lvl, unknown, tk.Level, tk.UnknownSeverities)
				}
				checkTicket(t, m, tk)
				tickets = append(tickets, tk)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(tickets); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("tickets differ from %s (go test -run TestGolden -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// caseMapper builds the mapper of a golden case.
func caseMapper(t testing.TB, name string) *Mapper {
	t.Helper()
	cfg := testConfig()
	if y, err := os.ReadFile(filepath.Join("testdata", name+".yaml")); err == nil {
		if cfg, err = ParseConfigYAML(y, cfg); err != nil {
			t.Fatalf("%s.yaml: %v", name, err)
		}
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return mustMapper(t, cfg)
}

// checkTicket asserts the invariants every ticket holds.
func checkTicket(t testing.TB, m *Mapper, tk Ticket) {
	t.Helper()
	for name, s := range map[string]string{"title": tk.Title, "description": tk.Description, "regions": tk.Regions} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", name, s)
		}
	}
	if n := utf8.RuneCountInString(tk.Title); n > m.cfg.MaxTitleRunes {
		t.Errorf("title has %d runes, limit %d", n, m.cfg.MaxTitleRunes)
	}
	if n := utf8.RuneCountInString(tk.Description); n > m.cfg.MaxDescriptionRunes {
		t.Errorf("description has %d runes, limit %d", n, m.cfg.MaxDescriptionRunes)
	}
	if tk.Description == "" {
		t.Error("empty description")
	}
	if levelRank(tk.Level) == 0 {
		t.Errorf("level %q is not a COC level", tk.Level)
	}
	if tk.Regions != "" {
		if n := len(strings.Split(tk.Regions, ",")); n > maxRegions {
			t.Errorf("%d regions, limit %d", n, maxRegions)
		}
	}
	if len(tk.Key) != 64 || strings.Trim(tk.Key, "0123456789abcdef") != "" {
		t.Errorf("key %q is not 64 lower-case hex digits", tk.Key)
	}
	if tk.Firing+tk.Resolved == 0 {
		t.Error("no alerts counted")
	}
}

// Every payload under testdata is a golden case.
func TestGoldenCasesCoverTestdata(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.HasSuffix(name, ".golden") {
			continue
		}
		if !slices.ContainsFunc(goldenCases, func(c struct{ name, prev string }) bool { return c.name == name }) {
			t.Errorf("%s has no entry in goldenCases", f)
		}
	}
}
