package mapping

import (
	"slices"
	"time"
)

// LevelUpdates says which level changes of an alert group are sent to the
// group's open ticket in COC (the ugrading_and_downgrading action).
type LevelUpdates string

// The level update policies.
const (
	// LevelUpdatesEscalate sends only changes towards issues_level_1000
	// (critical): a ticket never loses severity on its own (the default).
	LevelUpdatesEscalate LevelUpdates = "escalate"
	// LevelUpdatesBoth sends every change, up and down.
	LevelUpdatesBoth LevelUpdates = "both"
	// LevelUpdatesOff sends none: the ticket keeps the level it was created
	// with.
	LevelUpdatesOff LevelUpdates = "off"
)

// OnResolve says what a group whose alerts have all resolved does to its
// ticket in COC.
type OnResolve string

// The resolve policies.
const (
	// OnResolveRecord records the resolve in the ledger and sends nothing
	// (the default): the ticket is the on-call engineer's to close.
	OnResolveRecord OnResolve = "record"
	// OnResolveCancelUnaccepted cancels (gocm_issues_undo_create) a ticket
	// that COC still reports as not accepted, with a revocation_reason
	// naming the resolve time; an accepted ticket is left alone.
	OnResolveCancelUnaccepted OnResolve = "cancel_unaccepted"
	// OnResolveSubmitSolution submits a solution (submitting_question)
	// saying the alerts resolved, with the fields of SubmitSolution.
	OnResolveSubmitSolution OnResolve = "submit_solution"
)

// Defaults of the lifecycle policies.
const (
	DefaultLevelUpdates = LevelUpdatesEscalate
	DefaultOnResolve    = OnResolveRecord
)

// Bounds of the lookup schedule (see Config.LookupSchedule).
const (
	MaxLookups        = 20
	MaxLookupDuration = time.Hour
)

// DefaultLookupSchedule returns the default lookup schedule after an
// unclear create: at once, then 5 s, 30 s and 2 min after.
func DefaultLookupSchedule() []time.Duration {
	return []time.Duration{0, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
}

// SolutionFields are the fields of COC's submitting_question action other
// than the solution text, which the bridge writes (Mapper.SolutionText). In
// a Receiver, "" (or a nil bool) inherits the global value.
//
// root_cause_cloud_service, root_cause_type and root_cause_comment are
// required when on_resolve is submit_solution: they are the root cause part
// of COC's solution form, which COC cannot fill in itself (COC's API
// reference does not say which fields it requires; these are the ones the
// bridge cannot invent).
type SolutionFields struct {
	// RootCauseCloudService is the application id responsible for the
	// issue (root_cause_cloud_service); "" uses fields.root_cause_cloud_service.
	RootCauseCloudService string `yaml:"root_cause_cloud_service,omitempty"`
	// RootCauseType is the root cause category id, such as
	// issues_root_cause_type_4000 (root_cause_type).
	RootCauseType string `yaml:"root_cause_type,omitempty"`
	// RootCauseComment is the root cause analysis text (root_cause_comment).
	RootCauseComment string `yaml:"root_cause_comment,omitempty"`
	// IssueVersion is the version in which the issue was found
	// (issue_version); optional.
	IssueVersion string `yaml:"issue_version,omitempty"`
	// Regions is the comma-joined list of region ids (regions); "" sends
	// the ticket's own regions.
	Regions string `yaml:"regions,omitempty"`
	// IsCommonIssue and IsNeedChange are sent as is_common_issue and
	// is_need_change; unset means false.
	IsCommonIssue *bool `yaml:"is_common_issue,omitempty"`
	IsNeedChange  *bool `yaml:"is_need_change,omitempty"`
}

// Policy is one receiver's lifecycle policy, resolved: the receiver's own
// values over the global ones.
type Policy struct {
	// LevelUpdates says which level changes are sent to COC.
	LevelUpdates LevelUpdates
	// OnResolve says what a resolved group does to its ticket.
	OnResolve OnResolve
	// Solution holds the submitting_question fields; they are complete
	// (Validate checks it) when OnResolve is submit_solution.
	Solution Solution
}

// Solution is SolutionFields resolved for one receiver: RootCauseCloudService
// falls back to the receiver's fields.root_cause_cloud_service, the booleans
// to false. Regions "" means the ticket's own regions.
type Solution struct {
	RootCauseCloudService string
	RootCauseType         string
	RootCauseComment      string
	IssueVersion          string
	Regions               string
	IsCommonIssue         bool
	IsNeedChange          bool
}

// Lookups is the bridge-wide policy of looking tickets up in COC by
// source_id. It is global, not per receiver: how late COC shows a new ticket
// and whether the store may miss tickets COC has are facts of the COC site
// and of the store, the same for every receiver.
type Lookups struct {
	// Schedule holds the lookups after a create whose outcome is unclear,
	// as offsets from the moment it became unclear; a new create is sent
	// only when every one of them came back empty.
	Schedule []time.Duration
	// BeforeCreate looks the key up once before every first create of a
	// key (one list-tickets call per new ticket).
	BeforeCreate bool
}

// Policy returns the lifecycle policy of a receiver (the global one for a
// receiver without overrides).
func (m *Mapper) Policy(receiver string) Policy {
	return m.cfg.policy(receiver)
}

// Lookups returns the lookup policy; the caller may keep and modify it.
func (m *Mapper) Lookups() Lookups {
	return Lookups{Schedule: slices.Clone(m.cfg.LookupSchedule), BeforeCreate: m.cfg.LookupBeforeCreate}
}

// policy resolves the lifecycle policy of a receiver.
func (c Config) policy(receiver string) Policy {
	if r, ok := c.Receivers[receiver]; ok {
		return c.resolvePolicy(&r)
	}
	return c.resolvePolicy(nil)
}

// resolvePolicy resolves the lifecycle policy of a receiver's overrides r,
// or the global one when r is nil.
func (c Config) resolvePolicy(r *Receiver) Policy {
	p := Policy{LevelUpdates: c.LevelUpdates, OnResolve: c.OnResolve}
	fields, sol := c.Fields, c.SubmitSolution
	if r != nil {
		if r.LevelUpdates != "" {
			p.LevelUpdates = r.LevelUpdates
		}
		if r.OnResolve != "" {
			p.OnResolve = r.OnResolve
		}
		fields = mergeFields(fields, r.Fields)
		sol = mergeSolution(sol, r.SubmitSolution)
	}
	p.Solution = Solution{
		RootCauseCloudService: sol.RootCauseCloudService,
		RootCauseType:         sol.RootCauseType,
		RootCauseComment:      sol.RootCauseComment,
		IssueVersion:          sol.IssueVersion,
		Regions:               sol.Regions,
		IsCommonIssue:         sol.IsCommonIssue != nil && *sol.IsCommonIssue,
		IsNeedChange:          sol.IsNeedChange != nil && *sol.IsNeedChange,
	}
	if p.Solution.RootCauseCloudService == "" {
		p.Solution.RootCauseCloudService = fields.RootCauseCloudService
	}
	return p
}

// mergeSolution returns base with the set values of over.
func mergeSolution(base, over SolutionFields) SolutionFields {
	setString(&base.RootCauseCloudService, over.RootCauseCloudService)
	setString(&base.RootCauseType, over.RootCauseType)
	setString(&base.RootCauseComment, over.RootCauseComment)
	setString(&base.IssueVersion, over.IssueVersion)
	setString(&base.Regions, over.Regions)
	if over.IsCommonIssue != nil {
		base.IsCommonIssue = over.IsCommonIssue
	}
	if over.IsNeedChange != nil {
		base.IsNeedChange = over.IsNeedChange
	}
	return base
}

// clone returns a copy of s sharing no pointers with it.
func (s SolutionFields) clone() SolutionFields {
	if s.IsCommonIssue != nil {
		v := *s.IsCommonIssue
		s.IsCommonIssue = &v
	}
	if s.IsNeedChange != nil {
		v := *s.IsNeedChange
		s.IsNeedChange = &v
	}
	return s
}
