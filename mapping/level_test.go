package mapping

import (
	"fmt"
	"testing"
)

func TestLevelDefaults(t *testing.T) {
	t.Parallel()
	m := mustMapper(t, testConfig())
	cases := []struct {
		severity string
		want     string
		unknown  int
	}{
		{"critical", Level1000, 0},
		{"major", Level2000, 0},
		{"error", Level2000, 0},
		{"high", Level2000, 0},
		{"minor", Level3000, 0},
		{"medium", Level3000, 0},
		{"warning", Level4000, 0},
		{"low", Level4000, 0},
		{"info", Level4000, 0},
		{"CRITICAL", Level1000, 0},
		{"  Warning\t", Level4000, 0},
		{"disaster", Level3000, 1},
		{"", Level3000, 1}, // label missing
		{"critical!", Level3000, 1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.severity), func(t *testing.T) {
			t.Parallel()
			level, unknown := m.Level(testMessage("r", alertSpec{severity: tc.severity}))
			if level != tc.want || unknown != tc.unknown {
				t.Errorf("Level = %q, %d unknown; want %q, %d", level, unknown, tc.want, tc.unknown)
			}
		})
	}
}

func TestLevelAcrossAlerts(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.DefaultLevel = Level2000
	cfg.Levels["disaster"] = Level1000
	cfg.Receivers = map[string]Receiver{
		"dba": {Levels: map[string]string{"Warning": Level1000, "page": Level2000}},
	}
	m := mustMapper(t, cfg)
	firing := func(sev string) alertSpec { return alertSpec{severity: sev} }
	resolved := func(sev string) alertSpec { return alertSpec{status: StatusResolved, severity: sev} }
	cases := []struct {
		name     string
		receiver string
		alerts   []alertSpec
		want     string
		unknown  int
	}{
		{"highest firing wins", "r", []alertSpec{firing("warning"), firing("major"), firing("minor")}, Level2000, 0},
		{"resolved alerts are ignored while one fires", "r", []alertSpec{firing("warning"), resolved("critical")}, Level4000, 0},
		{"unknown counts at the default level", "r", []alertSpec{firing("warning"), firing("bogus")}, Level2000, 1},
		{"unknown and missing are both counted", "r", []alertSpec{firing("bogus"), firing(""), firing("critical")}, Level1000, 2},
		{"unknown among resolved alerts is not counted while one fires", "r", []alertSpec{firing("info"), resolved("bogus")}, Level4000, 0},
		{"resolved only: highest over all", "r", []alertSpec{resolved("warning"), resolved("critical")}, Level1000, 0},
		{"resolved only: unknown counted", "r", []alertSpec{resolved("bogus"), resolved("info")}, Level2000, 1},
		{"added global severity", "r", []alertSpec{firing("disaster")}, Level1000, 0},
		{"receiver table over the global one", "dba", []alertSpec{firing("warning")}, Level1000, 0},
		{"receiver inherits the rest", "dba", []alertSpec{firing("minor"), firing("page")}, Level2000, 0},
		{"other receivers keep the global table", "other", []alertSpec{firing("warning")}, Level4000, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			level, unknown := m.Level(testMessage(tc.receiver, tc.alerts...))
			if level != tc.want || unknown != tc.unknown {
				t.Errorf("Level = %q, %d unknown; want %q, %d", level, unknown, tc.want, tc.unknown)
			}
		})
	}
	if level, unknown := m.Level(&Message{}); level != Level2000 || unknown != 0 {
		t.Errorf("message without data: %q, %d", level, unknown)
	}
}

func TestSeverityLabel(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.SeverityLabel = "priority"
	m := mustMapper(t, cfg)
	msg := testMessage("r", alertSpec{severity: "info", labels: map[string]string{"priority": "critical"}})
	if level, unknown := m.Level(msg); level != Level1000 || unknown != 0 {
		t.Errorf("Level = %q, %d", level, unknown)
	}
}
