package client

import (
	"context"
	"fmt"
)

// pathActions is the issue-ticket actions API (API.md 7).
const pathActions = "/v1/issues_mgmt/actions"

// Actions of the issue workflow the client sends (API.md 7; the
// misspellings are COC's).
const (
	ActionChangeLevel    = "ugrading_and_downgrading"
	ActionCancel         = "gocm_issues_undo_create"
	ActionSubmitSolution = "submitting_question"
)

// actionRequest is the body of an action (SDK model ExecuteActionParams,
// in its field order; user_id and task_id are left out: COC takes the
// caller as the user).
type actionRequest struct {
	TicketID string `json:"ticket_id"`
	Action   string `json:"action"`
	Params   any    `json:"params"`
}

// ChangeLevelRequest changes a ticket's level.
type ChangeLevelRequest struct {
	TicketID string // ISU number
	Level    string // the new level, e.g. issues_level_1000
	Reason   string // why, in words an on-call engineer reads; required
}

// CancelTicketRequest cancels (revokes) a ticket.
type CancelTicketRequest struct {
	TicketID string // ISU number
	Reason   string // revocation_reason; required
}

// SubmitSolutionRequest submits a ticket's root cause and solution. Empty
// strings are left out of the params; the two flags are always sent.
type SubmitSolutionRequest struct {
	TicketID              string // ISU number
	RootCauseCloudService string // application id
	RootCauseType         string
	RootCauseComment      string
	IssueVersion          string
	Regions               string // region ids joined with ',', as in a create
	Solution              string // required
	IsCommonIssue         bool
	IsNeedChange          bool
}

// ChangeLevel sends ugrading_and_downgrading with params level and
// up_down_updated_level set to r.Level and up_down_grade_reason_comment
// set to r.Reason.
//
// Errors, for this and the other actions: an action is not a create, so
// whatever COC answers it can be sent again safely. Transport errors, 429
// and 5xx answers are retried within the call and come back ClassRetryable
// when retries run out. COC refusing the action (a 4xx, or a 2xx whose
// error_code is not success and not a gateway outage code: an invalid
// parameter, an action the ticket's status does not allow, an unknown
// ticket, for which IsTicketNotFound holds) and the gateway refusing the
// credentials come back ClassPermanent: sending it again gives the same
// answer, so read the ticket's status to decide what next. An empty ticket
// id or reason is refused before anything is sent (ClassPermanent,
// StatusCode 0).
func (c *Client) ChangeLevel(ctx context.Context, r ChangeLevelRequest) error {
	if r.Level == "" {
		return invalidAction(OpChangeLevel, "level is empty")
	}
	return c.act(ctx, OpChangeLevel, r.TicketID, r.Reason, ActionChangeLevel, struct {
		UpdatedLevel string `json:"up_down_updated_level"`
		Reason       string `json:"up_down_grade_reason_comment"`
		Level        string `json:"level"`
	}{r.Level, r.Reason, r.Level})
}

// CancelTicket sends gocm_issues_undo_create with params revocation_reason
// set to r.Reason. COC allows it only before the ticket is accepted; the
// refusal of a later cancel is ClassPermanent. Errors are classified as
// for ChangeLevel.
func (c *Client) CancelTicket(ctx context.Context, r CancelTicketRequest) error {
	return c.act(ctx, OpCancelTicket, r.TicketID, r.Reason, ActionCancel, struct {
		Reason string `json:"revocation_reason"`
	}{r.Reason})
}

// SubmitSolution sends submitting_question with the params of API.md 7
// (sub_tickets left out). It does not close the ticket: COC waits for
// someone to complete it. An empty solution is refused before sending;
// errors are classified as for ChangeLevel.
func (c *Client) SubmitSolution(ctx context.Context, r SubmitSolutionRequest) error {
	return c.act(ctx, OpSubmitSolution, r.TicketID, r.Solution, ActionSubmitSolution, struct {
		RootCauseCloudService string `json:"root_cause_cloud_service,omitempty"`
		IsCommonIssue         bool   `json:"is_common_issue"`
		IssueVersion          string `json:"issue_version,omitempty"`
		Regions               string `json:"regions,omitempty"`
		RootCauseType         string `json:"root_cause_type,omitempty"`
		RootCauseComment      string `json:"root_cause_comment,omitempty"`
		Solution              string `json:"solution"`
		IsNeedChange          bool   `json:"is_need_change"`
	}{r.RootCauseCloudService, r.IsCommonIssue, r.IssueVersion, r.Regions, r.RootCauseType,
		r.RootCauseComment, r.Solution, r.IsNeedChange})
}

// act checks the ticket id and the reason (the text an action must carry),
// then sends action with params as operation op.
func (c *Client) act(ctx context.Context, op, ticketID, reason, action string, params any) error {
	if ticketID == "" || len(ticketID) > 255 {
		return invalidAction(op, fmt.Sprintf("ticket id must have 1 to 255 bytes, got %d", len(ticketID)))
	}
	if reason == "" {
		return invalidAction(op, "the reason or solution text is empty")
	}
	return c.postJSON(ctx, op, pathActions, actionRequest{TicketID: ticketID, Action: action, Params: params}, nil)
}

// invalidAction is the error of an action refused before sending.
func invalidAction(op, msg string) error {
	return &Error{Operation: op, Class: ClassPermanent, Message: msg}
}
