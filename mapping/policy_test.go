package mapping

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestPolicyDefaults(t *testing.T) {
	t.Parallel()
	m := mustMapper(t, testConfig())
	want := Policy{LevelUpdates: LevelUpdatesEscalate, OnResolve: OnResolveRecord}
	for _, r := range []string{"", "any", "web.hook"} {
		if got := m.Policy(r); !reflect.DeepEqual(got, want) {
			t.Errorf("Policy(%q) = %+v, want %+v", r, got, want)
		}
	}
	got := m.Lookups()
	if !reflect.DeepEqual(got, Lookups{Schedule: []time.Duration{0, 5 * time.Second, 30 * time.Second, 2 * time.Minute}}) {
		t.Errorf("Lookups() = %+v", got)
	}
	// The caller owns what Lookups returns.
	got.Schedule[0] = time.Hour
	if m.Lookups().Schedule[0] != 0 {
		t.Error("Lookups shares its schedule with the Mapper")
	}
}

func TestPolicyYAML(t *testing.T) {
	t.Parallel()
	file := `
level_updates: both
on_resolve: submit_solution
lookup_schedule: [0s, 10s, 1m, 5m]
lookup_before_create: true
fields:
  root_cause_cloud_service: app-global
submit_solution:
  root_cause_type: issues_root_cause_type_4000
  root_cause_comment: Recovered without intervention.
  is_common_issue: true
receivers:
  quiet:
    level_updates: off
    on_resolve: record
  flappy:
    on_resolve: cancel_unaccepted
  team-a:
    root_cause_cloud_service: app-a
    submit_solution:
      issue_version: v1.2
      regions: cn-north-4,cn-south-1
      is_common_issue: false
      is_need_change: true
  team-b:
    submit_solution:
      root_cause_cloud_service: app-b-root
      root_cause_comment: Team B text.
`
	cfg, err := ParseConfigYAML([]byte(file), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	m := mustMapper(t, cfg)
	global := Solution{RootCauseCloudService: "app-global", RootCauseType: "issues_root_cause_type_4000",
		RootCauseComment: "Recovered without intervention.", IsCommonIssue: true}
	cases := []struct {
		receiver string
		want     Policy
	}{
		{"unconfigured", Policy{LevelUpdates: LevelUpdatesBoth, OnResolve: OnResolveSubmitSolution, Solution: global}},
		{"quiet", Policy{LevelUpdates: LevelUpdatesOff, OnResolve: OnResolveRecord, Solution: global}},
		{"flappy", Policy{LevelUpdates: LevelUpdatesBoth, OnResolve: OnResolveCancelUnaccepted, Solution: global}},
		// The receiver's fields.root_cause_cloud_service is the fallback,
		// and its false overrides the global true.
		{"team-a", Policy{LevelUpdates: LevelUpdatesBoth, OnResolve: OnResolveSubmitSolution, Solution: Solution{
			RootCauseCloudService: "app-a", RootCauseType: "issues_root_cause_type_4000",
			RootCauseComment: "Recovered without intervention.", IssueVersion: "v1.2",
			Regions: "cn-north-4,cn-south-1", IsNeedChange: true}}},
		// submit_solution.root_cause_cloud_service wins over the fields.
		{"team-b", Policy{LevelUpdates: LevelUpdatesBoth, OnResolve: OnResolveSubmitSolution, Solution: Solution{
			RootCauseCloudService: "app-b-root", RootCauseType: "issues_root_cause_type_4000",
			RootCauseComment: "Team B text.", IsCommonIssue: true}}},
	}
	for _, tc := range cases {
		if got := m.Policy(tc.receiver); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Policy(%q)\n got %+v\nwant %+v", tc.receiver, got, tc.want)
		}
	}
	want := Lookups{Schedule: []time.Duration{0, 10 * time.Second, time.Minute, 5 * time.Minute}, BeforeCreate: true}
	if got := m.Lookups(); !reflect.DeepEqual(got, want) {
		t.Errorf("Lookups() = %+v, want %+v", got, want)
	}
}

func TestPolicyYAMLErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, file, want string }{
		{"unknown solution key", "submit_solution:\n  root_cause: x\n",
			`line 2: unknown key "root_cause" in submit_solution (known keys: root_cause_cloud_service, root_cause_type, root_cause_comment, issue_version, regions, is_common_issue, is_need_change)`},
		{"duration without unit", "lookup_schedule: [0, 5]\n",
			"line 1: cannot unmarshal !!int `0` into time.Duration\nline 1: cannot unmarshal !!int `5` into time.Duration"},
		{"not a duration", "lookup_schedule: [soon]\n", "line 1: cannot unmarshal !!str `soon` into time.Duration"},
		{"bool", "lookup_before_create: sometimes\n", "line 1: cannot unmarshal !!str `sometimes` into bool"},
	}
	for _, tc := range cases {
		_, err := ParseConfigYAML([]byte(tc.file), testConfig())
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error\n got %v\nwant %s", tc.name, err, tc.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	yes := true
	complete := SolutionFields{RootCauseCloudService: "app", RootCauseType: "issues_root_cause_type_4000", RootCauseComment: "text"}
	cases := []struct {
		name string
		edit func(c *Config)
		want []string // every line of the joined error; none = valid
	}{
		{"defaults", func(c *Config) {}, nil},
		{"level_updates", func(c *Config) { c.LevelUpdates = "up" },
			[]string{`level_updates: "up" is not one of escalate (only towards issues_level_1000), both, off`}},
		{"level_updates empty", func(c *Config) { c.LevelUpdates = "" },
			[]string{`level_updates: "" is not one of escalate (only towards issues_level_1000), both, off`}},
		{"on_resolve", func(c *Config) { c.OnResolve = "cancel" },
			[]string{`on_resolve: "cancel" is not one of record, cancel_unaccepted, submit_solution`}},
		{"receiver values", func(c *Config) {
			c.Receivers = map[string]Receiver{"r": {LevelUpdates: "Both", OnResolve: "close"}, "ok": {}}
		}, []string{
			`receivers["r"].level_updates: "Both" is not one of escalate (only towards issues_level_1000), both, off`,
			`receivers["r"].on_resolve: "close" is not one of record, cancel_unaccepted, submit_solution`,
		}},
		{"submit_solution without fields", func(c *Config) { c.OnResolve = OnResolveSubmitSolution }, []string{
			`submit_solution.root_cause_cloud_service: required when on_resolve is submit_solution: the COC application id responsible for the issue (or set fields.root_cause_cloud_service)`,
			`submit_solution.root_cause_type: required when on_resolve is submit_solution: the COC root cause category id, such as issues_root_cause_type_4000`,
			`submit_solution.root_cause_comment: required when on_resolve is submit_solution: the root cause text COC shows with the solution`,
		}},
		{"submit_solution complete", func(c *Config) {
			c.OnResolve, c.SubmitSolution = OnResolveSubmitSolution, complete
		}, nil},
		{"root cause service from the fields", func(c *Config) {
			c.OnResolve, c.SubmitSolution = OnResolveSubmitSolution, complete
			c.SubmitSolution.RootCauseCloudService, c.Fields.RootCauseCloudService = "", "app"
		}, nil},
		{"blank comment", func(c *Config) {
			c.OnResolve, c.SubmitSolution = OnResolveSubmitSolution, complete
			c.SubmitSolution.RootCauseComment = " \n"
		}, []string{`submit_solution.root_cause_comment: required when on_resolve is submit_solution: the root cause text COC shows with the solution`}},
		{"unused solution fields are not required", func(c *Config) {
			c.SubmitSolution.IsCommonIssue = &yes
		}, nil},
		{"a receiver chooses submit_solution", func(c *Config) {
			c.SubmitSolution.RootCauseType = "issues_root_cause_type_1000"
			c.Receivers = map[string]Receiver{
				"team-a": {OnResolve: OnResolveSubmitSolution},
				"team-b": {OnResolve: OnResolveSubmitSolution, Fields: Fields{RootCauseCloudService: "app-b"},
					SubmitSolution: SolutionFields{RootCauseComment: "b"}},
				"team-c": {},
			}
		}, []string{
			`receivers["team-a"].submit_solution.root_cause_cloud_service: required when on_resolve is submit_solution: the COC application id responsible for the issue (or set fields.root_cause_cloud_service)`,
			`receivers["team-a"].submit_solution.root_cause_comment: required when on_resolve is submit_solution: the root cause text COC shows with the solution`,
		}},
		{"an incomplete global policy is reported once", func(c *Config) {
			c.OnResolve, c.SubmitSolution = OnResolveSubmitSolution, complete
			c.SubmitSolution.RootCauseType = ""
			c.Receivers = map[string]Receiver{
				"inherits": {},
				"fixes":    {SubmitSolution: SolutionFields{RootCauseType: "issues_root_cause_type_2000"}},
				"opts out": {OnResolve: OnResolveRecord},
			}
		}, []string{`submit_solution.root_cause_type: required when on_resolve is submit_solution: the COC root cause category id, such as issues_root_cause_type_4000`}},
		{"a complete global policy, a receiver's own blank", func(c *Config) {
			c.OnResolve, c.SubmitSolution = OnResolveSubmitSolution, complete
			c.Receivers = map[string]Receiver{"r": {SubmitSolution: SolutionFields{RootCauseType: "issues root"}}}
		}, []string{`receivers["r"].submit_solution.root_cause_type: "issues root" must not contain white space`}},
		{"white space in ids", func(c *Config) {
			c.SubmitSolution = SolutionFields{RootCauseCloudService: "app 1", Regions: "cn-north-4, cn-south-1"}
		}, []string{
			`submit_solution.root_cause_cloud_service: "app 1" must not contain white space`,
			`submit_solution.regions: "cn-north-4, cn-south-1" must not contain white space`,
		}},
		{"no lookups", func(c *Config) { c.LookupSchedule = nil },
			[]string{`lookup_schedule: must hold at least one lookup: a create whose outcome is unclear is never sent again without looking first (default 0s, 5s, 30s, 2m)`}},
		{"one late lookup", func(c *Config) { c.LookupSchedule = []time.Duration{time.Minute} }, nil},
		{"schedule order and bounds", func(c *Config) {
			c.LookupSchedule = []time.Duration{-time.Second, 5 * time.Second, 5 * time.Second, time.Second, 2 * time.Hour}
		}, []string{
			`lookup_schedule[0]: -1s must not be negative`,
			`lookup_schedule[2]: 5s must be later than the lookup before it (5s)`,
			`lookup_schedule[3]: 1s must be later than the lookup before it (5s)`,
			`lookup_schedule[4]: 2h0m0s is later than 1h0m0s: the key waits for its last lookup`,
		}},
		{"too many lookups", func(c *Config) {
			c.LookupSchedule = nil
			for i := range MaxLookups + 1 {
				c.LookupSchedule = append(c.LookupSchedule, time.Duration(i)*time.Second)
			}
		}, []string{`lookup_schedule: 21 lookups: at most 20`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig()
			tc.edit(&c)
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate()\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// The effective mapping printed by check-config reads back as the same
// configuration.
func TestPolicyRoundTrip(t *testing.T) {
	t.Parallel()
	no := false
	c := testConfig()
	c.LevelUpdates, c.OnResolve, c.LookupBeforeCreate = LevelUpdatesBoth, OnResolveSubmitSolution, true
	c.LookupSchedule = []time.Duration{time.Second, 90 * time.Second}
	c.SubmitSolution = SolutionFields{RootCauseCloudService: "app", RootCauseType: "t", RootCauseComment: "c", IsNeedChange: &no}
	c.Receivers = map[string]Receiver{"r": {LevelUpdates: LevelUpdatesOff, SubmitSolution: SolutionFields{IssueVersion: "v2"}}}
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfigYAML(b, DefaultConfig())
	if err != nil {
		t.Fatalf("%v in\n%s", err, b)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip\n got %+v\nwant %+v\nfrom\n%s", got, c, b)
	}
	// The parsed configuration shares no pointers with its base.
	c2 := c.clone()
	*c2.SubmitSolution.IsNeedChange = true
	c2.LookupSchedule[0] = 0
	if *c.SubmitSolution.IsNeedChange || c.LookupSchedule[0] != time.Second {
		t.Error("clone shares the solution fields or the schedule")
	}
}
