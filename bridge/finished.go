package bridge

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
)

// TicketStatus is what COC reports about a ticket's state, as the show and
// list answers give it.
type TicketStatus struct {
	// Code is work_flow_status, e.g. issues_work_flow_status_12000.
	Code string
	// Name is the English name of Code in enum_data_list (prop_id
	// work_flow_status, name_en), e.g. "Completed"; "" or Code itself when
	// COC sent none.
	Name string
	// Phase is the ticket's phase, e.g. issues_phase_4000.
	Phase string
	// Deleted is is_deleted.
	Deleted bool
}

// The status and phase COC documents for a completed ticket.
const (
	StatusCompleted = "issues_work_flow_status_12000"
	PhaseCompleted  = "issues_phase_4000"
)

// Reasons Finished gives for a finished ticket.
const (
	FinishedDeleted  = "deleted"       // is_deleted
	FinishedCode     = "status code"   // StatusCompleted
	FinishedOperator = "operator list" // an entry of COC_BRIDGE_TERMINAL_STATUSES
	FinishedPhase    = "phase"         // PhaseCompleted
	FinishedName     = "status name"   // a closing word in the English name
)

// closingWord reports whether w, a lower-cased word of a status name, says
// the ticket is closed: "Completed", "Closed", "Resolved and closed", "Cancelled",
// "Revoked", "Rejected". Words of a status in progress ("Closing",
// "Rejecting", "Cancel") are not among them, nor "Resolved", which in many
// workflows waits for a confirmation.
func closingWord(w string) bool {
	switch w {
	case "completed", "closed", "cancelled", "canceled", "revoked", "rejected":
		return true
	}
	return false
}

// notYetWord reports whether w keeps a name with a closing word open ("to
// be" too, in closingName): "To be closed", "Not
// completed", "Closed, pending approval", "Waiting to be cancelled",
// "Under review (rejected once)". Such names are not finished by default;
// an operator who knows better lists them.
func notYetWord(w string) bool {
	switch w {
	case "pending", "awaiting", "waiting", "not", "being", "under":
		return true
	}
	return false
}

// TerminalStatuses decides whether a ticket is finished, so that its key is
// released and the next firing opens a new ticket. The zero value applies
// the defaults; NewTerminalStatuses adds the operator's list.
//
// A ticket is finished, in this order, when
//
//  1. COC says it is deleted (is_deleted);
//  2. its status code is issues_work_flow_status_12000 (Completed), the only
//     code COC documents;
//  3. its code, name or phase is in the operator's list;
//  4. neither its code, name nor phase is excluded by the operator's list
//     ("!entry"), and its phase is issues_phase_4000 (the completed
//     ticket's phase), or its English name holds a closing word (completed,
//     closed, cancelled or canceled, revoked, rejected) and no word of a
//     status still in progress (pending, awaiting, waiting, not, being,
//     under, "to be").
//
// The operator's list extends the defaults rather than replacing them: a
// list naming one more code must not silently stop cancelled or rejected
// tickets from releasing their keys, which holds every later firing of the
// group (a lost alert). A status the defaults misjudge as finished is
// excluded with "!".
type TerminalStatuses struct {
	include map[string]bool // lower-cased codes, names and phases
	exclude map[string]bool
}

// NewTerminalStatuses returns the defaults extended by the operator's list
// (COC_BRIDGE_TERMINAL_STATUSES): each entry is a status code, an English
// status name or a phase, compared case-insensitively and trimmed; an entry
// "!x" keeps tickets whose code, name or phase is x open against rule 4 of
// TerminalStatuses (it cannot hold deleted or completed tickets). Empty
// entries are ignored.
func NewTerminalStatuses(entries []string) (TerminalStatuses, error) {
	ts := TerminalStatuses{include: map[string]bool{}, exclude: map[string]bool{}}
	var errs []error
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(e, "!"); ok {
			rest = strings.TrimSpace(rest)
			switch rest {
			case "":
				errs = append(errs, errors.New(`"!": name a status code, status name or phase after "!"`))
			case StatusCompleted:
				errs = append(errs, fmt.Errorf("%q: %s is Completed in COC and always finishes a ticket", e, StatusCompleted))
			default:
				ts.exclude[rest] = true
			}
			continue
		}
		ts.include[e] = true
	}
	for e := range ts.include {
		if ts.exclude[e] {
			errs = append(errs, fmt.Errorf("%q is both listed and excluded (!%s)", e, e))
		}
	}
	if len(errs) > 0 {
		return TerminalStatuses{}, errors.Join(errs...)
	}
	return ts, nil
}

// Finished reports whether a ticket in status s is finished and, when it
// is, why (one of the Finished* reasons).
func (ts TerminalStatuses) Finished(s TicketStatus) (bool, string) {
	code := strings.ToLower(strings.TrimSpace(s.Code))
	name := strings.ToLower(strings.TrimSpace(s.Name))
	phase := strings.ToLower(strings.TrimSpace(s.Phase))
	in := func(set map[string]bool) bool {
		return (code != "" && set[code]) || (name != "" && set[name]) || (phase != "" && set[phase])
	}
	switch {
	case s.Deleted:
		return true, FinishedDeleted
	case code == StatusCompleted:
		return true, FinishedCode
	case in(ts.include):
		return true, FinishedOperator
	case in(ts.exclude):
		return false, ""
	case phase == PhaseCompleted:
		return true, FinishedPhase
	case closingName(name):
		return true, FinishedName
	}
	return false, ""
}

// closingName reports whether a lower-cased status name says the ticket is
// closed (see closingWord and notYetWord).
func closingName(name string) bool {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) })
	closing := false
	for i, w := range words {
		if notYetWord(w) || (w == "to" && i+1 < len(words) && words[i+1] == "be") {
			return false
		}
		closing = closing || closingWord(w)
	}
	return closing
}

// maxStatusSeries bounds coc_bridge_ticket_statuses_total: the first that
// many distinct (status, name) pairs get their own series, later ones count
// as status="other", name="other". Real COC sites have a dozen statuses;
// the bound only matters when COC sends garbage.
const maxStatusSeries = 50

// maxStatusLabelRunes bounds one label value of a status series.
const maxStatusLabelRunes = 64

// StatusSightings counts every ticket status the bridge reads from COC in
// coc_bridge_ticket_statuses_total{status,name} and logs the first sighting
// of each (status, name) pair once at warn level, with the ticket id and
// whether the bridge takes the status for finished, so an operator learns
// which statuses their COC has and can list or exclude them in
// COC_BRIDGE_TERMINAL_STATUSES. It is safe for concurrent use; it remembers
// at most maxStatusSeries pairs.
type StatusSightings struct {
	log      *zap.Logger
	statuses *prometheus.CounterVec

	mu   sync.Mutex
	seen map[[2]string]bool
	full bool // a pair beyond the bound was seen and logged
}

// NewStatusSightings registers coc_bridge_ticket_statuses_total on reg
// (it panics if it is already registered, as the bridge's other metrics do)
// and logs to log.
func NewStatusSightings(reg prometheus.Registerer, log *zap.Logger) *StatusSightings {
	return &StatusSightings{
		log: log,
		statuses: counterVec(promauto.With(reg), "coc_bridge_ticket_statuses_total",
			"Ticket statuses read from COC, by work_flow_status code and its English name (the first 50 distinct pairs; later ones as other).",
			"status", "name"),
		seen: make(map[[2]string]bool),
	}
}

// Observe counts one read of ticket ticketID in status s; finished is what
// TerminalStatuses decided for it (logged with the first sighting).
func (ss *StatusSightings) Observe(ticketID string, s TicketStatus, finished bool) {
	pair := [2]string{statusLabel(s.Code), statusLabel(s.Name)}
	ss.mu.Lock()
	known := ss.seen[pair]
	first := !known && len(ss.seen) < maxStatusSeries
	overflow := !known && !first && !ss.full
	switch {
	case first:
		ss.seen[pair] = true
	case overflow:
		ss.full = true
	}
	ss.mu.Unlock()

	fields := []zap.Field{zap.String("ticket_id", ticketID), zap.String("status", s.Code),
		zap.String("status_name", s.Name), zap.String("phase", s.Phase), zap.Bool("finished", finished)}
	switch {
	case known || first:
		ss.statuses.WithLabelValues(pair[0], pair[1]).Inc()
	default:
		ss.statuses.WithLabelValues("other", "other").Inc()
	}
	switch {
	case first:
		ss.log.Warn("first sighting of this COC ticket status; list or exclude it in COC_BRIDGE_TERMINAL_STATUSES if the bridge misjudges it", fields...)
	case overflow:
		ss.log.Warn(fmt.Sprintf("more than %d distinct COC ticket statuses: new ones are counted as status=other and no longer logged", maxStatusSeries), fields...)
	}
}

// statusLabel makes a COC value a bounded, valid label value.
func statusLabel(s string) string {
	if len(s) > 8*maxStatusLabelRunes {
		s = s[:8*maxStatusLabelRunes]
	}
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if utf8.RuneCountInString(s) <= maxStatusLabelRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxStatusLabelRunes-1]) + "…"
}
