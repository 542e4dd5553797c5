package mapping

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults are valid; Validate() = %v", err)
	}
	if w := c.Warnings(); !reflect.DeepEqual(w, []string{"fields.issue_contact_person: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_2000 (individual owner): the COC user id of the ticket owner"}) {
		t.Errorf("the defaults lack only the owner; Warnings() = %q", w)
	}
	if err := testConfig().Validate(); err != nil {
		t.Errorf("defaults with an owner: %v", err)
	}
	// Each call returns fresh maps and slices.
	c.Levels["critical"] = Level4000
	c.RegionLabels[0] = "zone"
	if d := DefaultConfig(); d.Levels["critical"] != Level1000 || d.RegionLabels[0] != "region" {
		t.Error("DefaultConfig shares state between calls")
	}
}

func TestParseConfigYAML(t *testing.T) {
	t.Parallel()
	base := testConfig()
	base.Instance = "from-env"
	file := `
instance: prod-eu
dedupe_by: alert
severity_label: priority
levels:
  Disaster: issues_level_1000
  info: issues_level_3000
default_level: issues_level_2000
region_labels: [region, zone]
default_region: eu-west-101
title: '{{ .Status }}'
max_title_runes: 100
max_description_runes: 2000
fields:
  ticket_type: issues_type_2000
  is_start_process: false
receivers:
  web.hook:
    issue_contact_person: u-2
    title: 'web: {{ .Status }}'
    default_region: cn-north-4
    levels:
      page: issues_level_1000
`
	got, err := ParseConfigYAML([]byte(file), base)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := testConfig()
	want.Instance = "prod-eu"
	want.DedupeBy = KeyByAlert
	want.SeverityLabel = "priority"
	want.Levels["Disaster"] = Level1000
	want.Levels["info"] = Level3000
	want.DefaultLevel = Level2000
	want.RegionLabels = []string{"region", "zone"}
	want.DefaultRegion = "eu-west-101"
	want.Title = "{{ .Status }}"
	want.MaxTitleRunes = 100
	want.MaxDescriptionRunes = 2000
	want.Fields.TicketType = "issues_type_2000"
	want.Fields.IsStartProcess = &no
	want.Receivers = map[string]Receiver{"web.hook": {
		Fields: Fields{IssueContactPerson: "u-2"}, Title: "web: {{ .Status }}", DefaultRegion: "cn-north-4",
		Levels: map[string]string{"page": Level1000},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("overlay\n got %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if base.Instance != "from-env" || base.Levels["Disaster"] != "" || base.Fields.TicketType != DefaultTicketType {
		t.Errorf("base was modified: %+v", base)
	}
}

func TestParseConfigYAMLKeepsBase(t *testing.T) {
	t.Parallel()
	base := testConfig()
	for _, file := range []string{"", "# only a comment\n", "---\n"} {
		got, err := ParseConfigYAML([]byte(file), base)
		if err != nil {
			t.Errorf("%q: %v", file, err)
			continue
		}
		if !reflect.DeepEqual(got, base) {
			t.Errorf("%q changed the base: %+v", file, got)
		}
	}
}

func TestParseConfigYAMLErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, want string
	}{
		{"unknown top-level key", "instance: x\ndedupe: alert\n",
			`line 2: unknown key "dedupe" at the top level (known keys: instance, dedupe_by, fields, severity_label, levels, default_level, region_labels, default_region, title, description, max_title_runes, max_description_runes, level_updates, on_resolve, submit_solution, lookup_schedule, lookup_before_create, receivers)`},
		{"unknown field", "fields:\n  ticket_typ: x\n",
			`line 2: unknown key "ticket_typ" in fields (known keys: ticket_type, enterprise_project, virtual_schedule_type, issue_contact_person, schedule_scenes, virtual_schedule_role, root_cause_cloud_service, source, is_start_process)`},
		{"unknown receiver key", "receivers:\n  r:\n    tittle: x\n",
			`line 3: unknown key "tittle" in a receiver (known keys: ticket_type, enterprise_project, virtual_schedule_type, issue_contact_person, schedule_scenes, virtual_schedule_role, root_cause_cloud_service, source, is_start_process, title, description, default_region, levels, level_updates, on_resolve, submit_solution)`},
		{"two problems", "foo: 1\nmax_title_runes: many\n",
			"line 1: unknown key \"foo\" at the top level (known keys: instance, dedupe_by, fields, severity_label, levels, default_level, region_labels, default_region, title, description, max_title_runes, max_description_runes, level_updates, on_resolve, submit_solution, lookup_schedule, lookup_before_create, receivers)\n" +
				"line 2: cannot unmarshal !!str `many` into int"},
		{"wrong type", "region_labels: region\n", "line 1: cannot unmarshal !!str `region` into []string"},
		{"bool", "fields:\n  is_start_process: maybe\n", "line 2: cannot unmarshal !!str `maybe` into bool"},
		{"syntax", "levels: [\n", "line 1: did not find expected node content"},
		{"duplicate key", "instance: a\ninstance: b\n", `line 2: mapping key "instance" already defined at line 1`},
		{"not a mapping", "- a\n", "line 1: cannot unmarshal !!seq into Config"},
		{"two documents", "instance: a\n---\ninstance: b\n", "more than one YAML document: want one mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := testConfig()
			got, err := ParseConfigYAML([]byte(tc.file), base)
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			if !reflect.DeepEqual(got, base) {
				t.Errorf("on error the base must come back unchanged")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(c *Config)
		want string // every line of the joined error
	}{
		{"instance", func(c *Config) { c.Instance = "" }, `instance: must not be empty: it namespaces every issue key`},
		{"instance UTF-8", func(c *Config) { c.Instance = "a\xff" }, `instance: must be valid UTF-8`},
		{"dedupe_by", func(c *Config) { c.DedupeBy = "fingerprint" }, `dedupe_by: "fingerprint" is not one of group, alert, groupkey`},
		{"ticket_type empty", func(c *Config) { c.Fields.TicketType = "" }, `fields.ticket_type: must not be empty: an issue type id configured in COC, such as issues_type_1000`},
		{"ticket_type space", func(c *Config) { c.Fields.TicketType = "issues type" }, `fields.ticket_type: "issues type" must not contain white space`},
		{"enterprise_project", func(c *Config) { c.Fields.EnterpriseProject = "" }, `fields.enterprise_project: must not be empty: "0" is the default enterprise project`},
		{"virtual_schedule_type", func(c *Config) { c.Fields.VirtualScheduleType = "person" },
			`fields.virtual_schedule_type: "person" is not one of issues_mgmt_virtual_schedule_type_1000 (shift), issues_mgmt_virtual_schedule_type_2000 (individual)`},
		{"shift ok", func(c *Config) { c.Fields.VirtualScheduleType, c.Fields.ScheduleScenes = ScheduleShift, "s" }, ``},
		{"source", func(c *Config) { c.Fields.Source = "alarm" },
			`fields.source: "alarm" is not one of issues_mgmt_associated_type_1000 (incident), issues_mgmt_associated_type_2000 (alarm), issues_mgmt_associated_type_3000 (war room), issues_mgmt_associated_type_4000 (proactive O&M discovery)`},
		{"source empty", func(c *Config) { c.Fields.Source = "" },
			`fields.source: "" is not one of issues_mgmt_associated_type_1000 (incident), issues_mgmt_associated_type_2000 (alarm), issues_mgmt_associated_type_3000 (war room), issues_mgmt_associated_type_4000 (proactive O&M discovery)`},
		{"severity_label", func(c *Config) { c.SeverityLabel = "" }, `severity_label: "" is not a valid label name`},
		{"severity_label UTF-8 name", func(c *Config) { c.SeverityLabel = "alert.severity" }, ``},
		{"level value", func(c *Config) { c.Levels["critical"] = "issues_level_5000" },
			`levels["critical"]: "issues_level_5000" is not one of issues_level_1000 (critical), issues_level_2000 (major), issues_level_3000 (minor), issues_level_4000 (warning)`},
		{"level key empty", func(c *Config) { c.Levels[" "] = Level1000 }, `levels: a severity must not be empty`},
		{"level keys clash", func(c *Config) { c.Levels["Critical "] = Level1000 }, `levels: "Critical " and "critical" are the same severity (matched lower-cased and trimmed)`},
		{"no levels", func(c *Config) { c.Levels = nil }, ``},
		{"default_level", func(c *Config) { c.DefaultLevel = "minor" },
			`default_level: "minor" is not one of issues_level_1000 (critical), issues_level_2000 (major), issues_level_3000 (minor), issues_level_4000 (warning)`},
		{"region label", func(c *Config) { c.RegionLabels = []string{"region", "az zone", ""} },
			"region_labels[1]: \"az zone\" is not a valid label name\nregion_labels[2]: \"\" is not a valid label name"},
		{"max runes", func(c *Config) { c.MaxTitleRunes, c.MaxDescriptionRunes = 0, -1 },
			"max_title_runes: must be > 0, got 0\nmax_description_runes: must be > 0, got -1"},
		{"title parse", func(c *Config) { c.Title = "{{ .Status " }, `title: template: title:1: unclosed action`},
		{"title unknown function", func(c *Config) { c.Title = "{{ nope }}" }, `title: template: title:1: function "nope" not defined`},
		{"description empty", func(c *Config) { c.Description = "" }, `description: must not be empty`},
		{"receiver fields", func(c *Config) {
			c.Receivers = map[string]Receiver{"web.hook": {Fields: Fields{Source: "x", TicketType: "a b"}, Title: "{{ end }}",
				Levels: map[string]string{"x": "y"}}}
		}, "receivers[\"web.hook\"].ticket_type: \"a b\" must not contain white space\n" +
			"receivers[\"web.hook\"].source: \"x\" is not one of issues_mgmt_associated_type_1000 (incident), issues_mgmt_associated_type_2000 (alarm), issues_mgmt_associated_type_3000 (war room), issues_mgmt_associated_type_4000 (proactive O&M discovery)\n" +
			"receivers[\"web.hook\"].levels[\"x\"]: \"y\" is not one of issues_level_1000 (critical), issues_level_2000 (major), issues_level_3000 (minor), issues_level_4000 (warning)\n" +
			"receivers[\"web.hook\"].title: template: receivers[\"web.hook\"].title:1: unexpected {{end}}"},
		{"receiver with a shift", func(c *Config) {
			c.Receivers = map[string]Receiver{"sre": {Fields: Fields{VirtualScheduleType: ScheduleShift, ScheduleScenes: "s"}}}
		}, ``},
		{"empty receiver name", func(c *Config) { c.Receivers = map[string]Receiver{"": {}} }, `receivers: a receiver name must not be empty`},
		{"several problems at once", func(c *Config) { c.Instance, c.DedupeBy, c.DefaultLevel = "", "x", "" },
			"instance: must not be empty: it namespaces every issue key\n" +
				"dedupe_by: \"x\" is not one of group, alert, groupkey\n" +
				"default_level: \"\" is not one of issues_level_1000 (critical), issues_level_2000 (major), issues_level_3000 (minor), issues_level_4000 (warning)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig()
			tc.edit(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate()\n got %s\nwant %s", got, tc.want)
			}
			if _, nerr := New(c); (nerr == nil) != (tc.want == "") {
				t.Errorf("New() error %v disagrees with Validate", nerr)
			}
		})
	}
}

// A missing owner is a warning, not an error: the daemon must start with
// only COC's endpoint and credentials.
func TestWarnings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(c *Config)
		want string // every warning, one per line
	}{
		{"contact person", func(c *Config) { c.Fields.IssueContactPerson = "" },
			`fields.issue_contact_person: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_2000 (individual owner): the COC user id of the ticket owner`},
		{"schedule scenes", func(c *Config) { c.Fields.VirtualScheduleType = ScheduleShift },
			`fields.schedule_scenes: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_1000 (shift owner): the COC shift scenario id`},
		{"receiver switches to a shift without scenes", func(c *Config) {
			c.Receivers = map[string]Receiver{"sre": {Fields: Fields{VirtualScheduleType: ScheduleShift}}}
		}, `receivers["sre"].schedule_scenes: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_1000 (shift owner): the COC shift scenario id`},
		{"global owner missing, receiver has one", func(c *Config) {
			c.Fields.IssueContactPerson = ""
			c.Receivers = map[string]Receiver{"a": {Fields: Fields{IssueContactPerson: "u"}}, "b": {}}
		}, `fields.issue_contact_person: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_2000 (individual owner): the COC user id of the ticket owner`},
		{"global shift, receiver switches to a person without one", func(c *Config) {
			c.Fields.VirtualScheduleType, c.Fields.ScheduleScenes = ScheduleShift, "s"
			c.Receivers = map[string]Receiver{"a": {Fields: Fields{VirtualScheduleType: ScheduleIndividual}}}
		}, `receivers["a"].issue_contact_person: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_2000 (individual owner): the COC user id of the ticket owner`},
		{"owner configured", func(c *Config) {}, ``},
		{"shift ok", func(c *Config) { c.Fields.VirtualScheduleType, c.Fields.ScheduleScenes = ScheduleShift, "s" }, ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig()
			tc.edit(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v; an owner problem is only a warning", err)
			}
			if got := strings.Join(c.Warnings(), "\n"); got != tc.want {
				t.Errorf("Warnings()\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// check-config prints the effective mapping as YAML; it must read back as
// the same configuration.
func TestConfigYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	yes := true
	c := testConfig()
	c.Fields.IsStartProcess = &yes
	c.Receivers = map[string]Receiver{"web.hook": {Fields: Fields{Source: SourceProactive}, Levels: map[string]string{"page": Level1000}}}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfigYAML(out, Config{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip\n got %+v\nwant %+v\n%s", got, c, out)
	}
	for _, key := range []string{"instance: prod", "dedupe_by: group", "issue_contact_person: " + testContact, "max_description_runes: 4000"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("YAML lacks %q:\n%s", key, out)
		}
	}
}

func TestNewKeepsItsOwnCopy(t *testing.T) {
	t.Parallel()
	c := testConfig()
	m := mustMapper(t, c)
	c.Levels["critical"] = Level4000
	c.Instance = "other"
	level, _ := m.Level(testMessage("r", alertSpec{severity: "critical"}))
	if level != Level1000 || m.Key(testMessage("r")) != computeKey(KeyByGroup, "prod", testMessage("r")) {
		t.Error("the mapper follows changes to the caller's config")
	}
	var ie *InputError
	if errors.As(c.Validate(), &ie) {
		t.Error("a config error is not an input error")
	}
}
