package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Fields are the static ticket fields. In a Receiver, "" (or a nil
// IsStartProcess) means "inherit the global value".
type Fields struct {
	// TicketType is the issue type id configured in COC, e.g.
	// issues_type_1000 (ticket_type).
	TicketType string `yaml:"ticket_type,omitempty" json:"ticket_type,omitempty"`
	// EnterpriseProject is the enterprise project id; "0" is the default
	// project (enterprise_project).
	EnterpriseProject string `yaml:"enterprise_project,omitempty" json:"enterprise_project,omitempty"`
	// VirtualScheduleType says who owns the ticket: a shift
	// (issues_mgmt_virtual_schedule_type_1000) or a person
	// (issues_mgmt_virtual_schedule_type_2000) (virtual_schedule_type).
	VirtualScheduleType string `yaml:"virtual_schedule_type,omitempty" json:"virtual_schedule_type,omitempty"`
	// IssueContactPerson is the COC user id of the owner, required with an
	// individual owner (issue_contact_person).
	IssueContactPerson string `yaml:"issue_contact_person,omitempty" json:"issue_contact_person,omitempty"`
	// ScheduleScenes is the shift scenario id, required with a shift owner
	// (schedule_scenes).
	ScheduleScenes string `yaml:"schedule_scenes,omitempty" json:"schedule_scenes,omitempty"`
	// VirtualScheduleRole is the shift role id (virtual_schedule_role).
	VirtualScheduleRole string `yaml:"virtual_schedule_role,omitempty" json:"virtual_schedule_role,omitempty"`
	// RootCauseCloudService is an application id (root_cause_cloud_service).
	RootCauseCloudService string `yaml:"root_cause_cloud_service,omitempty" json:"root_cause_cloud_service,omitempty"`
	// Source is the ticket's source type; the issue key is sent as its
	// source_id. Default issues_mgmt_associated_type_2000 (alarm).
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// IsStartProcess false creates a draft; nil leaves COC's default (true).
	IsStartProcess *bool `yaml:"is_start_process,omitempty" json:"is_start_process,omitempty"`
}

// Receiver overrides the global configuration for notifications of one
// Alertmanager receiver. Empty values inherit.
type Receiver struct {
	Fields `yaml:",inline"`
	// Title and Description are templates replacing the global ones.
	Title       string `yaml:"title,omitempty"`
	Description string `yaml:"description,omitempty"`
	// DefaultRegion is used when no alert carries a region label; it wins
	// over the global DefaultRegion.
	DefaultRegion string `yaml:"default_region,omitempty"`
	// Levels is merged over the global severity table.
	Levels map[string]string `yaml:"levels,omitempty"`
	// LevelUpdates, OnResolve and SubmitSolution replace the global
	// lifecycle policy for this receiver (see Config).
	LevelUpdates   LevelUpdates   `yaml:"level_updates,omitempty"`
	OnResolve      OnResolve      `yaml:"on_resolve,omitempty"`
	SubmitSolution SolutionFields `yaml:"submit_solution,omitempty"`
}

// Config is the mapping configuration. DefaultConfig gives the defaults; the
// daemon overlays its environment variables, then the mapping file
// (ParseConfigYAML), then calls Validate (New does too).
type Config struct {
	// Instance names the Alertmanager cluster or environment and namespaces
	// every key, so TEST and PROD never share a ticket. It must be the same
	// on every bridge replica serving one Alertmanager cluster.
	Instance string `yaml:"instance"`
	// DedupeBy is the key mode.
	DedupeBy KeyMode `yaml:"dedupe_by"`
	// Fields are the static ticket fields.
	Fields Fields `yaml:"fields"`
	// SeverityLabel is the alert label holding the severity.
	SeverityLabel string `yaml:"severity_label"`
	// Levels maps a severity (matched lower-cased and trimmed) to a COC
	// level, issues_level_1000 (critical) to issues_level_4000 (warning).
	Levels map[string]string `yaml:"levels"`
	// DefaultLevel is the level of an alert whose severity is missing or not
	// in Levels.
	DefaultLevel string `yaml:"default_level"`
	// RegionLabels are the alert labels holding COC region ids.
	RegionLabels []string `yaml:"region_labels"`
	// DefaultRegion is sent when no alert carries a region label; "" sends
	// no regions.
	DefaultRegion string `yaml:"default_region"`
	// Title and Description are Go templates run with Alertmanager's template
	// engine on a TemplateData.
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// MaxTitleRunes and MaxDescriptionRunes bound the rendered texts, in
	// characters (runes). COC documents no limit for either. The title
	// default, 255, is the limit COC documents for its other short strings
	// (ticket ids, actions). The description default, 4000, is a common
	// column size for ticket texts and still lists a dozen or more alerts;
	// raise it if your COC site accepts longer descriptions.
	MaxTitleRunes       int `yaml:"max_title_runes"`
	MaxDescriptionRunes int `yaml:"max_description_runes"`
	// LevelUpdates says which level changes of a group are sent to its
	// open ticket: escalate (only towards issues_level_1000), both, off.
	LevelUpdates LevelUpdates `yaml:"level_updates"`
	// OnResolve says what a group whose alerts all resolved does to its
	// ticket: record (nothing in COC), cancel_unaccepted, submit_solution.
	OnResolve OnResolve `yaml:"on_resolve"`
	// SubmitSolution holds the fields of the submitting_question action,
	// used when OnResolve is submit_solution.
	SubmitSolution SolutionFields `yaml:"submit_solution,omitempty"`
	// LookupSchedule holds the lookups by source_id after a create whose
	// outcome is unclear, as offsets from the moment it became unclear
	// (YAML: durations such as 0s, 5s, 2m), increasing, at most MaxLookups
	// of them, the last at most MaxLookupDuration. Global only.
	LookupSchedule []time.Duration `yaml:"lookup_schedule"`
	// LookupBeforeCreate looks every key up once before its first create.
	// Global only.
	LookupBeforeCreate bool `yaml:"lookup_before_create"`
	// Receivers holds per-receiver overrides, by receiver name as configured
	// in Alertmanager (unescaped: web.hook, not web\.hook).
	Receivers map[string]Receiver `yaml:"receivers,omitempty"`
}

// Defaults of the ticket fields and the mapping settings.
const (
	DefaultInstance            = "alertmanager"
	DefaultTicketType          = "issues_type_1000"
	DefaultEnterpriseProject   = "0"
	DefaultVirtualScheduleType = ScheduleIndividual
	DefaultSource              = SourceAlarm
	DefaultSeverityLabel       = "severity"
	DefaultLevel               = Level3000
	DefaultMaxTitleRunes       = 255
	DefaultMaxDescriptionRunes = 4000
)

// DefaultLevels returns the default severity table: critical ->
// issues_level_1000; major, error, high -> 2000; minor, medium -> 3000;
// warning, low, info -> 4000.
func DefaultLevels() map[string]string {
	return map[string]string{
		"critical": Level1000,
		"major":    Level2000, "error": Level2000, "high": Level2000,
		"minor": Level3000, "medium": Level3000,
		"warning": Level4000, "low": Level4000, "info": Level4000,
	}
}

// DefaultConfig returns the default configuration. It does not validate on
// its own: the default owner type is an individual, whose COC user id
// (Fields.IssueContactPerson) has no default.
func DefaultConfig() Config {
	return Config{
		Instance: DefaultInstance,
		DedupeBy: KeyByGroup,
		Fields: Fields{
			TicketType:          DefaultTicketType,
			EnterpriseProject:   DefaultEnterpriseProject,
			VirtualScheduleType: DefaultVirtualScheduleType,
			Source:              DefaultSource,
		},
		SeverityLabel:       DefaultSeverityLabel,
		Levels:              DefaultLevels(),
		DefaultLevel:        DefaultLevel,
		RegionLabels:        []string{"region"},
		Title:               DefaultTitleTemplate,
		Description:         DefaultDescriptionTemplate,
		MaxTitleRunes:       DefaultMaxTitleRunes,
		MaxDescriptionRunes: DefaultMaxDescriptionRunes,
		LevelUpdates:        DefaultLevelUpdates,
		OnResolve:           DefaultOnResolve,
		LookupSchedule:      DefaultLookupSchedule(),
	}
}

// clone returns a copy of c sharing no maps or slices with it.
func (c Config) clone() Config {
	c.Levels = maps.Clone(c.Levels)
	c.RegionLabels = slices.Clone(c.RegionLabels)
	c.LookupSchedule = slices.Clone(c.LookupSchedule)
	c.SubmitSolution = c.SubmitSolution.clone()
	if c.Fields.IsStartProcess != nil {
		v := *c.Fields.IsStartProcess
		c.Fields.IsStartProcess = &v
	}
	if c.Receivers != nil {
		rs := make(map[string]Receiver, len(c.Receivers))
		for name, r := range c.Receivers {
			r.Levels = maps.Clone(r.Levels)
			r.SubmitSolution = r.SubmitSolution.clone()
			if r.IsStartProcess != nil {
				v := *r.IsStartProcess
				r.IsStartProcess = &v
			}
			rs[name] = r
		}
		c.Receivers = rs
	}
	return c
}

// ParseConfigYAML overlays a YAML mapping file on base and returns the
// result; base is not modified. Keys are the snake_case yaml names of
// Config's fields. A key that is present replaces base's value, except the
// levels table, whose entries are merged over base's (map a severity to
// another level rather than restating the table); a receivers entry replaces
// base's entry of that name. Unknown keys, duplicate keys and type mismatches
// are errors naming their line. An empty file (or comments only) returns
// base unchanged. The result is not validated: call Validate.
func ParseConfigYAML(data []byte, base Config) (Config, error) {
	out := base.clone()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil {
		if errors.Is(err, io.EOF) {
			return base.clone(), nil
		}
		return base, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return base, errors.New("more than one YAML document: want one mapping")
	}
	return out, nil
}

var unknownFieldRE = regexp.MustCompile(`^line (\d+): field (.*) not found in type mapping\.(\w+)$`)

// yamlError rewrites yaml.v3's errors in the file's terms: keys instead of
// Go types, one line per problem.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	errs := make([]error, 0, len(te.Errors))
	for _, e := range te.Errors {
		if m := unknownFieldRE.FindStringSubmatch(e); m != nil {
			where, known := yamlSection(m[3])
			e = fmt.Sprintf("line %s: unknown key %q %s (known keys: %s)", m[1], m[2], where, strings.Join(known, ", "))
		} else {
			e = strings.ReplaceAll(e, "mapping.", "")
		}
		errs = append(errs, errors.New(e))
	}
	return errors.Join(errs...)
}

// yamlSection names where a Go type appears in the file and its keys.
func yamlSection(goType string) (string, []string) {
	switch goType {
	case "Fields":
		return "in fields", yamlKeys(reflect.TypeFor[Fields]())
	case "Receiver":
		return "in a receiver", yamlKeys(reflect.TypeFor[Receiver]())
	case "SolutionFields":
		return "in submit_solution", yamlKeys(reflect.TypeFor[SolutionFields]())
	default:
		return "at the top level", yamlKeys(reflect.TypeFor[Config]())
	}
}

// yamlKeys lists the yaml keys of a struct type, following inline fields.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			keys = append(keys, yamlKeys(f.Type)...)
			continue
		}
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}
