package bridge

import (
	"testing"

	"github.com/coc-bridge/coc-bridge/mapping"
)

func TestLevelChange(t *testing.T) {
	t.Parallel()
	const (
		esc  = mapping.LevelUpdatesEscalate
		both = mapping.LevelUpdatesBoth
		off  = mapping.LevelUpdatesOff
	)
	cases := []struct {
		policy    mapping.LevelUpdates
		coc, next string
		want      bool
	}{
		{esc, mapping.Level4000, mapping.Level1000, true},
		{esc, mapping.Level3000, mapping.Level2000, true},
		{esc, mapping.Level1000, mapping.Level4000, false},
		{esc, mapping.Level2000, mapping.Level2000, false},
		{both, mapping.Level4000, mapping.Level1000, true},
		{both, mapping.Level1000, mapping.Level4000, true},
		{both, mapping.Level3000, mapping.Level3000, false},
		{off, mapping.Level4000, mapping.Level1000, false},
		{off, mapping.Level1000, mapping.Level4000, false},
		{"", mapping.Level4000, mapping.Level1000, false},
		{"Escalate", mapping.Level4000, mapping.Level1000, false},
		// Unknown COC level: nothing is sent.
		{esc, "", mapping.Level1000, false},
		{both, "", mapping.Level4000, false},
		// Numbers, not string order: 10000 is less severe than 2000.
		{esc, "issues_level_10000", mapping.Level2000, true},
		{esc, mapping.Level2000, "issues_level_10000", false},
		{both, "issues_level_500", mapping.Level1000, true},
		// Not a level.
		{both, mapping.Level1000, "", false},
		{both, "critical", mapping.Level4000, false},
		{both, "issues_level_", mapping.Level4000, false},
		{both, "issues_level_0", mapping.Level4000, false},
		{both, "issues_level_+1000", mapping.Level4000, false},
		{both, "issues_level_-1000", mapping.Level4000, false},
		{both, "issues_level_99999999999999999999", mapping.Level4000, false},
		{esc, " issues_level_4000", mapping.Level1000, false},
	}
	for _, tc := range cases {
		if got := LevelChange(tc.policy, tc.coc, tc.next); got != tc.want {
			t.Errorf("LevelChange(%q, %q, %q) = %v, want %v", tc.policy, tc.coc, tc.next, got, tc.want)
		}
	}
}
