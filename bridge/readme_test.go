package bridge_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// TestWhatCOCSeesWhen keeps the README's "what COC sees when" table true:
// each row is run against the fake COC under its policy, and the COC calls
// the row lists (in backquotes) must be exactly the ones the fake saw,
// status reads aside. A row without a scenario here fails, so the table
// and the test change together.
func TestWhatCOCSeesWhen(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "| event | policy | COC calls |")
	if start < 0 {
		t.Fatal(`README.md has no "| event | policy | COC calls |" table`)
	}
	table := text[start:]
	if end := strings.Index(table, "\n\n"); end >= 0 {
		table = table[:end]
	}
	type row struct{ event, policy, calls string }
	var rows []row
	for _, line := range strings.Split(table, "\n")[2:] {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("table row %q does not have three cells", line)
		}
		rows = append(rows, row{strings.TrimSpace(cells[0]), strings.Trim(strings.TrimSpace(cells[1]), "`"), strings.TrimSpace(cells[2])})
	}
	if len(rows) < 10 {
		t.Fatalf("the table has %d rows, want at least the 10 it was written with", len(rows))
	}
	quoted := regexp.MustCompile("`([^`]+)`")
	scenarios := cocScenarios()

	for _, r := range rows {
		t.Run(r.event+"/"+r.policy, func(t *testing.T) {
			t.Parallel()
			sc, ok := scenarios[r.event]
			if !ok {
				t.Fatalf("no scenario for the README row %q", r.event)
			}
			e := newEnv(t, envOptions{refresh: 100 * time.Millisecond, mapConfig: func(c *mapping.Config) {
				switch p := r.policy; p {
				case "":
				case string(mapping.LevelUpdatesEscalate), string(mapping.LevelUpdatesBoth), string(mapping.LevelUpdatesOff):
					c.LevelUpdates = mapping.LevelUpdates(p)
				default:
					c.OnResolve = mapping.OnResolve(p)
					c.SubmitSolution = mapping.SolutionFields{RootCauseCloudService: "app-1",
						RootCauseType: "issues_root_cause_type_4000", RootCauseComment: "resolved"}
				}
			}})
			first := ""
			if !sc.fresh {
				e.mustAccept(group("Row", sc.severity))
				e.waitSettled(1)
				first = e.onlyTicket().TicketID
			}
			creates := e.fake.Calls(client.OpCreateTicket)
			sc.run(e, first)
			e.waitIdle()

			var saw []string
			for range e.fake.Calls(client.OpCreateTicket) - creates {
				saw = append(saw, "create")
			}
			for _, tk := range e.fake.Tickets() {
				for _, a := range e.fake.Actions(tk.TicketID) {
					saw = append(saw, a.Action)
				}
			}
			var want []string
			for _, m := range quoted.FindAllStringSubmatch(r.calls, -1) {
				want = append(want, m[1])
			}
			slices.Sort(saw)
			slices.Sort(want)
			if !slices.Equal(saw, want) {
				t.Errorf("README says COC sees %v, the fake saw %v", want, saw)
			}
			if strings.Contains(r.calls, "naming the previous ticket") {
				tickets := e.fake.Tickets()
				if last := tickets[len(tickets)-1]; len(tickets) != 2 || !strings.Contains(last.Description, first) {
					t.Errorf("the new ticket does not name the previous one, %s", first)
				}
			}
		})
	}
}

// cocScenario is what a row of the README table does: the group's first
// ticket (unless fresh) is created at severity, then run does what the
// event says.
type cocScenario struct {
	fresh    bool
	severity string
	run      func(e *env, ticketID string)
}

// cocScenarios holds a scenario for each event of the README table.
func cocScenarios() map[string]cocScenario {
	return map[string]cocScenario{
		"first firing of a group": {fresh: true, run: func(e *env, _ string) {
			e.mustAccept(group("Row", "warning"))
			e.waitSettled(1)
		}},
		"repeat, same level": {severity: "warning", run: func(e *env, _ string) {
			e.mustAccept(group("Row", "warning"))
		}},
		"repeat at a higher level": {severity: "warning", run: func(e *env, _ string) {
			e.mustAccept(group("Row", "critical"))
		}},
		"repeat at a lower level": {severity: "critical", run: func(e *env, _ string) {
			e.mustAccept(group("Row", "warning"))
		}},
		"all alerts resolved": {severity: "major", run: func(e *env, _ string) {
			e.mustAccept(resolved("Row", "major"))
		}},
		"all alerts resolved, ticket not accepted": {severity: "major", run: func(e *env, _ string) {
			e.mustAccept(resolved("Row", "major"))
		}},
		"all alerts resolved, ticket accepted": {severity: "major", run: func(e *env, id string) {
			if err := e.fake.Accept(id); err != nil {
				e.t.Fatal(err)
			}
			e.mustAccept(resolved("Row", "major"))
		}},
		"firing again after COC completed the ticket": {severity: "major", run: func(e *env, id string) {
			if err := e.fake.Complete(id); err != nil {
				e.t.Fatal(err)
			}
			waitFor(e.t, 10*time.Second, "the refresher to release the completed ticket", func() bool {
				return len(e.ledger(bridge.StateClosed)) == 1
			})
			e.mustAccept(group("Row", "major"))
			e.waitSettled(1)
		}},
	}
}
