package coctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// OpAction is the operation every POST /v1/issues_mgmt/actions is counted
// (Calls) and faulted (FailNext) under, whatever its action.
const OpAction = "action"

// Workflow states the actions move a ticket to, with their English names in
// enum_data_list. The codes are the fake's choice: COC documents only
// StatusCompleted. The actions change work_flow_status only; phase is left
// as it was (COC documents no phase but that of a completed ticket).
const (
	StatusHandling     = "issues_work_flow_status_3000" // "Handling": accepted
	StatusToBeVerified = "issues_work_flow_status_4000" // "To be verified": solution submitted, still open
	StatusCancelled    = "issues_work_flow_status_7000" // "Cancelled": gocm_issues_undo_create
	StatusRejected     = "issues_work_flow_status_8000" // "Rejected": gocm_issues_unaccepted_reject
)

// Issue actions the fake knows besides the client's (API.md 7; the
// spellings are COC's).
const (
	ActionAccept = "gocm_issues_accepte"
	ActionReject = "gocm_issues_unaccepted_reject"
)

// CodeActionNotAllowed is the error code (with HTTP 400) of an action the
// ticket's status does not allow: any action on a finished ticket, and
// accept, reject or cancel on one that is no longer pending acceptance.
// COC's real code for this is undocumented; this one is the fake's choice.
const CodeActionNotAllowed = "COC.00067999"

// ErrActionNotAllowed is returned by Accept when the ticket's status does
// not allow it.
var ErrActionNotAllowed = errors.New("the ticket's status does not allow the action")

// ActionCall is an action the fake applied to a ticket.
type ActionCall struct {
	Action string
	Params map[string]any // string, bool, or []map[string]any for sub_tickets
	At     time.Time      // server clock
}

// paramKind is the JSON type an action parameter must have.
type paramKind int

const (
	text    paramKind = iota // a string
	level                    // a string naming a level, issues_level_1000 to _4000
	flag                     // a boolean
	objects                  // an array of objects
)

// param is one parameter of an action.
type param struct {
	kind     paramKind
	required bool // present and, for strings, not empty
}

// actionParams are the params of each action the fake knows (API.md 7);
// any other action, and any other param, is refused as invalid. For
// submitting_question the fake requires the fields a bridge sends.
func actionParams() map[string]map[string]param {
	req := func(k paramKind) param { return param{kind: k, required: true} }
	opt := func(k paramKind) param { return param{kind: k} }
	return map[string]map[string]param{
		ActionAccept: {},
		client.ActionChangeLevel: {"up_down_updated_level": req(level), "up_down_grade_reason_comment": req(text),
			"level": req(level)},
		ActionReject:        {"unaccepted_rejection_description": req(text)},
		client.ActionCancel: {"revocation_reason": req(text)},
		client.ActionSubmitSolution: {"root_cause_cloud_service": req(text), "is_common_issue": opt(flag),
			"issue_version": opt(text), "regions": opt(text), "root_cause_type": req(text),
			"root_cause_comment": req(text), "solution": req(text), "is_need_change": opt(flag),
			"sub_tickets": opt(objects)},
	}
}

// validLevel reports a level the create page documents.
func validLevel(v string) bool {
	return slices.Contains([]string{"issues_level_1000", "issues_level_2000", "issues_level_3000", "issues_level_4000"}, v)
}

// decodeParams checks raw against the params of action and decodes them.
func decodeParams(action string, raw map[string]json.RawMessage) (map[string]any, error) {
	spec, ok := actionParams()[action]
	if !ok {
		return nil, fmt.Errorf("unknown action %q", action)
	}
	out := map[string]any{}
	for name, r := range raw {
		p, ok := spec[name]
		if !ok {
			return nil, fmt.Errorf("%s takes no param %q", action, name)
		}
		var v any
		var err error
		switch p.kind {
		case text, level:
			var s string
			err = json.Unmarshal(r, &s)
			if err == nil && p.kind == level && !validLevel(s) {
				err = fmt.Errorf("%q is not a level", s)
			}
			if err == nil && p.required && s == "" {
				err = errors.New("is empty")
			}
			v = s
		case flag:
			var b bool
			err = json.Unmarshal(r, &b)
			v = b
		case objects:
			var l []map[string]any
			err = json.Unmarshal(r, &l)
			v = l
		}
		if err != nil {
			return nil, fmt.Errorf("%s param %s: %w", action, name, err)
		}
		out[name] = v
	}
	for name, p := range spec {
		if _, ok := out[name]; p.required && !ok {
			return nil, fmt.Errorf("%s needs param %s", action, name)
		}
	}
	return out, nil
}

// action answers POST /v1/issues_mgmt/actions.
func (s *Server) action(body []byte) answer {
	var req struct {
		UserID   string                     `json:"user_id"`
		TicketID string                     `json:"ticket_id"`
		TaskID   string                     `json:"task_id"`
		Action   string                     `json:"action"`
		Params   map[string]json.RawMessage `json:"params"`
	}
	if err := decodeStrict(body, &req); err != nil {
		s.log.Info("action refused: invalid body", zap.Error(err))
		return invalid()
	}
	if req.TicketID == "" || len(req.TicketID) > 255 || req.Action == "" || len(req.Action) > 255 {
		s.log.Info("action refused: ticket_id and action must have 1 to 255 bytes")
		return invalid()
	}
	params, err := decodeParams(req.Action, req.Params)
	if err != nil {
		s.log.Info("action refused: invalid params", zap.String("ticket_id", req.TicketID), zap.Error(err))
		return invalid()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(req.TicketID)
	if t == nil || !s.visible(t) {
		return cocError(http.StatusBadRequest, client.CodeTicketNotFound, "The service ticket does not exist.")
	}
	if err := s.apply(t, req.Action, params); err != nil {
		s.log.Info("action refused", zap.String("ticket_id", t.TicketID), zap.String("action", req.Action), zap.Error(err))
		return cocError(http.StatusBadRequest, CodeActionNotAllowed, err.Error())
	}
	t.actions = append(t.actions, ActionCall{Action: req.Action, Params: params, At: t.UpdatedAt})
	// The actions answer has no data (API.md 7).
	return answer{status: http.StatusOK, body: struct {
		ErrorCode    string  `json:"error_code"`
		ErrorMsg     *string `json:"error_msg"`
		ProviderCode int     `json:"provider_code"`
	}{client.CodeSuccess, nil, 4}}
}

// apply makes action's change to t, or says why t's status does not allow
// it. Called with s.mu held.
func (s *Server) apply(t *Ticket, action string, params map[string]any) error {
	if finished(t) {
		return fmt.Errorf("%w: %s on the finished ticket %s (%s)", ErrActionNotAllowed, action, t.TicketID, t.WorkFlowStatus)
	}
	switch action {
	case ActionAccept, ActionReject, client.ActionCancel:
		if t.WorkFlowStatus != StatusPending {
			return fmt.Errorf("%w: %s on the ticket %s, no longer pending acceptance (%s)",
				ErrActionNotAllowed, action, t.TicketID, t.WorkFlowStatus)
		}
		to := map[string]string{ActionAccept: StatusHandling, ActionReject: StatusRejected, client.ActionCancel: StatusCancelled}
		t.WorkFlowStatus, t.StatusName = to[action], ""
	case client.ActionSubmitSolution:
		t.WorkFlowStatus, t.StatusName = StatusToBeVerified, ""
	case client.ActionChangeLevel:
		t.Level, _ = params["up_down_updated_level"].(string)
	}
	t.UpdatedAt = s.now()
	return nil
}

// finished reports a ticket no action applies to: deleted, completed (by
// status or phase), cancelled or rejected.
func finished(t *Ticket) bool {
	return t.IsDeleted || t.Phase == PhaseCompleted ||
		slices.Contains([]string{StatusCompleted, StatusCancelled, StatusRejected}, t.WorkFlowStatus)
}

// Accept accepts the ticket as an operator would in COC's console
// (gocm_issues_accepte): a ticket pending acceptance moves to
// StatusHandling. It is not recorded as an action call. The error wraps
// ErrNoTicket or ErrActionNotAllowed.
func (s *Server) Accept(ticketID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(ticketID)
	if t == nil {
		return fmt.Errorf("accept %q: %w", ticketID, ErrNoTicket)
	}
	return s.apply(t, ActionAccept, nil)
}

// Actions returns the actions applied to the ticket with that number or
// internal id, oldest first. Refused and faulted calls are counted by
// Calls(OpAction) but not recorded; a call whose fault has Apply set is.
func (s *Server) Actions(ticketID string) []ActionCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(ticketID)
	if t == nil {
		return nil
	}
	out := make([]ActionCall, 0, len(t.actions))
	for _, a := range t.actions {
		a.Params = maps.Clone(a.Params)
		out = append(out, a)
	}
	return out
}
