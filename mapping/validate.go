package mapping

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// COC issue levels (level), most severe first.
const (
	Level1000 = "issues_level_1000" // critical
	Level2000 = "issues_level_2000" // major
	Level3000 = "issues_level_3000" // minor
	Level4000 = "issues_level_4000" // warning
)

// COC owner types (virtual_schedule_type).
const (
	ScheduleShift      = "issues_mgmt_virtual_schedule_type_1000" // owner from a shift
	ScheduleIndividual = "issues_mgmt_virtual_schedule_type_2000" // a person
)

// COC ticket sources (source).
const (
	SourceIncident  = "issues_mgmt_associated_type_1000"
	SourceAlarm     = "issues_mgmt_associated_type_2000"
	SourceWarRoom   = "issues_mgmt_associated_type_3000"
	SourceProactive = "issues_mgmt_associated_type_4000" // proactive O&M discovery
)

// levelRank orders the levels: 1 is the most severe, 0 is not a level.
func levelRank(level string) int {
	switch level {
	case Level1000:
		return 1
	case Level2000:
		return 2
	case Level3000:
		return 3
	case Level4000:
		return 4
	}
	return 0
}

// validSource reports whether s is one of COC's ticket sources.
func validSource(s string) bool {
	return s == SourceIncident || s == SourceAlarm || s == SourceWarRoom || s == SourceProactive
}

// The allowed values, as error messages list them.
const (
	levelValues    = Level1000 + " (critical), " + Level2000 + " (major), " + Level3000 + " (minor), " + Level4000 + " (warning)"
	scheduleValues = ScheduleShift + " (shift), " + ScheduleIndividual + " (individual)"
	sourceValues   = SourceIncident + " (incident), " + SourceAlarm + " (alarm), " +
		SourceWarRoom + " (war room), " + SourceProactive + " (proactive O&M discovery)"
)

// legacyLabelName is Prometheus' classic label name syntax.
var legacyLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// validLabelName accepts Prometheus label names: the classic syntax, or
// (Prometheus 3) any UTF-8 text without spaces or control characters, which
// in a configured label name are always a mistake.
func validLabelName(s string) bool {
	if legacyLabelName.MatchString(s) {
		return true
	}
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == ','
	})
}

// Validate checks the configuration against COC's enums and the mapping's
// own rules, and returns every problem at once (errors.Join), one per line,
// each starting with the yaml name of the setting.
func (c Config) Validate() error {
	var v validator
	if c.Instance == "" {
		v.add("instance", "must not be empty: it namespaces every issue key")
	} else if !utf8.ValidString(c.Instance) {
		v.add("instance", "must be valid UTF-8")
	}
	if !slices.Contains([]KeyMode{KeyByGroup, KeyByAlert, KeyByGroupKey}, c.DedupeBy) {
		v.add("dedupe_by", "%q is not one of group, alert, groupkey", c.DedupeBy)
	}
	v.fields("fields.", c.Fields, false)
	if !validLabelName(c.SeverityLabel) {
		v.add("severity_label", "%q is not a valid label name", c.SeverityLabel)
	}
	v.levels("levels", c.Levels)
	if levelRank(c.DefaultLevel) == 0 {
		v.add("default_level", "%q is not one of %s", c.DefaultLevel, levelValues)
	}
	for i, l := range c.RegionLabels {
		if !validLabelName(l) {
			v.add(fmt.Sprintf("region_labels[%d]", i), "%q is not a valid label name", l)
		}
	}
	if c.MaxTitleRunes <= 0 {
		v.add("max_title_runes", "must be > 0, got %d", c.MaxTitleRunes)
	}
	if c.MaxDescriptionRunes <= 0 {
		v.add("max_description_runes", "must be > 0, got %d", c.MaxDescriptionRunes)
	}
	v.lifecycle("", c.LevelUpdates, c.OnResolve, c.SubmitSolution, false)
	globalSolutionOK := true
	if c.OnResolve == OnResolveSubmitSolution {
		n := len(v.errs)
		v.solution("submit_solution.", c.resolvePolicy(nil).Solution)
		globalSolutionOK = len(v.errs) == n
	}
	v.lookupSchedule(c.LookupSchedule)
	root, err := newTemplateRoot()
	if err != nil {
		v.errs = append(v.errs, err)
		return v.err()
	}
	v.template(root, "title", c.Title, true)
	v.template(root, "description", c.Description, true)

	for _, name := range slices.Sorted(maps.Keys(c.Receivers)) {
		r := c.Receivers[name]
		p := fmt.Sprintf("receivers[%q].", name)
		if name == "" {
			v.add("receivers", "a receiver name must not be empty")
		}
		v.fields(p, r.Fields, true)
		v.levels(p+"levels", r.Levels)
		v.template(root, p+"title", r.Title, false)
		v.template(root, p+"description", r.Description, false)
		v.lifecycle(p, r.LevelUpdates, r.OnResolve, r.SubmitSolution, true)
		// The receiver's effective fields must be complete; report them
		// here only when the receiver chooses the policy itself, or when
		// the global fields are complete (else the global error says it).
		if pol := c.resolvePolicy(&r); pol.OnResolve == OnResolveSubmitSolution && (r.OnResolve != "" || globalSolutionOK) {
			v.solution(p+"submit_solution.", pol.Solution)
		}
	}
	return v.err()
}

// Warnings lists settings that are valid but will make COC reject tickets:
// an owner type without the owner COC needs with it. They are not errors, so
// that the daemon starts with only COC's endpoint and credentials set (the
// tickets it cannot create are dead-lettered with COC's reason and can be
// replayed once the owner is configured); the daemon logs them at start and
// check-config prints them. Each starts with the yaml name of the setting.
func (c Config) Warnings() []string {
	errs := c.warnings()
	out := make([]string, len(errs))
	for i, err := range errs {
		out[i] = err.Error()
	}
	return out
}

// WarningErrors returns the warnings as one *SettingError each, joined
// (errors.Join), or nil: what Warnings lists, with the setting apart from
// the problem.
func (c Config) WarningErrors() error { return errors.Join(c.warnings()...) }

func (c Config) warnings() []error {
	var v validator
	v.owner("fields.", c.Fields)
	globalOwnerOK := len(v.errs) == 0
	for _, name := range slices.Sorted(maps.Keys(c.Receivers)) {
		r := c.Receivers[name]
		// The owner rules hold for the receiver's effective fields; report
		// them here only when the receiver changes the owner, or when the
		// global fields are fine (else the global warning says it already).
		if r.VirtualScheduleType != "" || globalOwnerOK {
			v.owner(fmt.Sprintf("receivers[%q].", name), mergeFields(c.Fields, r.Fields))
		}
	}
	return v.errs
}

// SettingError is one problem with one setting. Validate and WarningErrors
// return them joined (errors.Join), so that a caller can name the setting in
// its own terms (an environment variable) without parsing the message.
type SettingError struct {
	// Setting is the yaml name of the setting, with its position inside a
	// list or the receivers table: fields.source, region_labels[1],
	// receivers["team-a"].levels.
	Setting string
	// Problem says what is wrong and what is allowed.
	Problem string
}

// Error returns "setting: problem".
func (e *SettingError) Error() string { return e.Setting + ": " + e.Problem }

// validator collects problems.
type validator struct{ errs []error }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &SettingError{Setting: field, Problem: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error { return errors.Join(v.errs...) }

// fields checks the static fields' own values. With inherit, "" is allowed
// everywhere.
func (v *validator) fields(p string, f Fields, inherit bool) {
	switch {
	case f.TicketType == "" && !inherit:
		v.add(p+"ticket_type", "must not be empty: an issue type id configured in COC, such as issues_type_1000")
	case strings.ContainsFunc(f.TicketType, unicode.IsSpace):
		v.add(p+"ticket_type", "%q must not contain white space", f.TicketType)
	}
	if f.EnterpriseProject == "" && !inherit {
		v.add(p+"enterprise_project", `must not be empty: "0" is the default enterprise project`)
	}
	if f.VirtualScheduleType != "" || !inherit {
		if f.VirtualScheduleType != ScheduleShift && f.VirtualScheduleType != ScheduleIndividual {
			v.add(p+"virtual_schedule_type", "%q is not one of %s", f.VirtualScheduleType, scheduleValues)
		}
	}
	if f.Source != "" || !inherit {
		if !validSource(f.Source) {
			v.add(p+"source", "%q is not one of %s", f.Source, sourceValues)
		}
	}
}

// owner checks that the owner type has what COC needs with it.
func (v *validator) owner(p string, f Fields) {
	switch f.VirtualScheduleType {
	case ScheduleIndividual:
		if f.IssueContactPerson == "" {
			v.add(p+"issue_contact_person", "required when virtual_schedule_type is %s (individual owner): the COC user id of the ticket owner", ScheduleIndividual)
		}
	case ScheduleShift:
		if f.ScheduleScenes == "" {
			v.add(p+"schedule_scenes", "required when virtual_schedule_type is %s (shift owner): the COC shift scenario id", ScheduleShift)
		}
	}
}

// levels checks a severity table.
func (v *validator) levels(field string, levels map[string]string) {
	keys := slices.Sorted(maps.Keys(levels))
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		norm := normalizeSeverity(k)
		switch {
		case norm == "":
			v.add(field, "a severity must not be empty")
		case seen[norm] != "":
			v.add(field, "%q and %q are the same severity (matched lower-cased and trimmed)", seen[norm], k)
		}
		seen[norm] = k
		if levelRank(levels[k]) == 0 {
			v.add(fmt.Sprintf("%s[%q]", field, k), "%q is not one of %s", levels[k], levelValues)
		}
	}
}

// template checks that a template parses. Without required, "" (inherit) is
// fine.
func (v *validator) template(root *templateRoot, field, text string, required bool) {
	if text == "" {
		if required {
			v.add(field, "must not be empty")
		}
		return
	}
	if _, err := root.parse(field, text); err != nil {
		v.add(field, "%v", err)
	}
}

// setString sets *dst to src unless src is empty (not set).
func setString(dst *string, src string) {
	if src != "" {
		*dst = src
	}
}

// mergeFields returns base with the non-empty values of over. When over
// changes the owner type, the owner fields (issue_contact_person,
// schedule_scenes, virtual_schedule_role) are not inherited: a shift's
// scenario makes no sense for a person, nor a person for a shift.
func mergeFields(base, over Fields) Fields {
	if over.VirtualScheduleType != "" && over.VirtualScheduleType != base.VirtualScheduleType {
		base.IssueContactPerson, base.ScheduleScenes, base.VirtualScheduleRole = "", "", ""
	}
	setString(&base.TicketType, over.TicketType)
	setString(&base.EnterpriseProject, over.EnterpriseProject)
	setString(&base.VirtualScheduleType, over.VirtualScheduleType)
	setString(&base.IssueContactPerson, over.IssueContactPerson)
	setString(&base.ScheduleScenes, over.ScheduleScenes)
	setString(&base.VirtualScheduleRole, over.VirtualScheduleRole)
	setString(&base.RootCauseCloudService, over.RootCauseCloudService)
	setString(&base.Source, over.Source)
	if over.IsStartProcess != nil {
		v := *over.IsStartProcess
		base.IsStartProcess = &v
	}
	return base
}

// normalizeSeverity is how severities are compared: lower-cased, trimmed.
func normalizeSeverity(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// lifecycle checks the lifecycle policy values. With inherit, "" is allowed.
func (v *validator) lifecycle(p string, lu LevelUpdates, or OnResolve, s SolutionFields, inherit bool) {
	if (lu != "" || !inherit) && !slices.Contains([]LevelUpdates{LevelUpdatesEscalate, LevelUpdatesBoth, LevelUpdatesOff}, lu) {
		v.add(p+"level_updates", "%q is not one of escalate (only towards issues_level_1000), both, off", lu)
	}
	if (or != "" || !inherit) && !slices.Contains([]OnResolve{OnResolveRecord, OnResolveCancelUnaccepted, OnResolveSubmitSolution}, or) {
		v.add(p+"on_resolve", "%q is not one of record, cancel_unaccepted, submit_solution", or)
	}
	for _, f := range []struct{ key, value string }{
		{"root_cause_cloud_service", s.RootCauseCloudService},
		{"root_cause_type", s.RootCauseType},
		{"regions", s.Regions},
	} {
		if strings.ContainsFunc(f.value, unicode.IsSpace) {
			v.add(p+"submit_solution."+f.key, "%q must not contain white space", f.value)
		}
	}
}

// solution checks that a resolved submit_solution policy has the fields
// the bridge cannot fill in itself.
func (v *validator) solution(p string, s Solution) {
	const why = "required when on_resolve is submit_solution"
	if s.RootCauseCloudService == "" {
		v.add(p+"root_cause_cloud_service", "%s: the COC application id responsible for the issue (or set fields.root_cause_cloud_service)", why)
	}
	if s.RootCauseType == "" {
		v.add(p+"root_cause_type", "%s: the COC root cause category id, such as issues_root_cause_type_4000", why)
	}
	if strings.TrimSpace(s.RootCauseComment) == "" {
		v.add(p+"root_cause_comment", "%s: the root cause text COC shows with the solution", why)
	}
}

// lookupSchedule checks the lookups after an unclear create.
func (v *validator) lookupSchedule(s []time.Duration) {
	switch {
	case len(s) == 0:
		v.add("lookup_schedule", "must hold at least one lookup: a create whose outcome is unclear is never sent again without looking first (default 0s, 5s, 30s, 2m)")
	case len(s) > MaxLookups:
		v.add("lookup_schedule", "%d lookups: at most %d", len(s), MaxLookups)
	}
	for i, d := range s {
		f := fmt.Sprintf("lookup_schedule[%d]", i)
		switch {
		case d < 0:
			v.add(f, "%s must not be negative", d)
		case d > MaxLookupDuration:
			v.add(f, "%s is later than %s: the key waits for its last lookup", d, MaxLookupDuration)
		case i > 0 && d <= s[i-1]:
			v.add(f, "%s must be later than the lookup before it (%s)", d, s[i-1])
		}
	}
}
