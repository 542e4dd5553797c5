package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Paths of the issue-ticket API (API.md 4-6); all are decoded paths.
const (
	pathTickets     = "/v1/issues_mgmt/tickets"
	pathListTickets = "/v1/issues_mgmt/list-tickets"
)

// CreateTicketRequest is the body of "create an issue ticket" (API.md 4).
// Empty fields are left out. The field order is the SDK model's, so the
// JSON is byte for byte what the official client sends, minus the newline
// its encoder appends.
type CreateTicketRequest struct {
	Title                  string `json:"title,omitempty"`
	Description            string `json:"description,omitempty"`
	EnterpriseProject      string `json:"enterprise_project,omitempty"`
	Level                  string `json:"level,omitempty"`
	TicketType             string `json:"ticket_type,omitempty"`
	Regions                string `json:"regions,omitempty"` // region ids joined with ','
	Source                 string `json:"source,omitempty"`
	SourceID               string `json:"source_id,omitempty"`
	FountTime              int64  `json:"fount_time,omitempty"` // discovery time, epoch milliseconds
	VirtualScheduleType    string `json:"virtual_schedule_type,omitempty"`
	IssueContactPerson     string `json:"issue_contact_person,omitempty"`
	ScheduleScenes         string `json:"schedule_scenes,omitempty"`
	VirtualScheduleRole    string `json:"virtual_schedule_role,omitempty"`
	RootCauseCloudService  string `json:"root_cause_cloud_service,omitempty"`
	CommitUploadAttachment string `json:"commit_upload_attachment,omitempty"`
	IsStartProcess         *bool  `json:"is_start_process,omitempty"`
}

// CreateTicketResult is what COC answers to a successful create.
type CreateTicketResult struct {
	TicketID            string // ticket number, ISU...
	ID                  string // COC's internal id
	IsStartProcess      bool   // false: the ticket is a draft
	IsStartProcessAsync bool   // the workflow starts asynchronously
}

// CreateIssueTicket creates an issue ticket. The body is marshalled once
// and every attempt signs and sends the same bytes. Only errors known not
// to have reached COC are retried; an error of ClassAmbiguous means the
// ticket may exist: look it up with FindTicketsBySourceID before creating
// again.
func (c *Client) CreateIssueTicket(ctx context.Context, req CreateTicketRequest) (CreateTicketResult, error) {
	var res CreateTicketResult
	err := c.postJSON(ctx, OpCreateTicket, pathTickets, req, func(data json.RawMessage) error {
		var w struct {
			TicketID            flexString `json:"ticket_id"`
			ID                  flexString `json:"id"`
			IsStartProcess      flexBool   `json:"is_start_process"`
			IsStartProcessAsync flexBool   `json:"is_start_process_async"`
		}
		if err := decodeObject(data, &w); err != nil {
			return err
		}
		if w.TicketID == "" {
			return fmt.Errorf("success answer without data.ticket_id")
		}
		res = CreateTicketResult{TicketID: string(w.TicketID), ID: string(w.ID),
			IsStartProcess: bool(w.IsStartProcess), IsStartProcessAsync: bool(w.IsStartProcessAsync)}
		return nil
	})
	return res, err
}

// GetTicket reads one ticket (API.md 5). A ticket COC does not know gives
// an error for which IsTicketNotFound is true.
func (c *Client) GetTicket(ctx context.Context, ticketID string) (Ticket, error) {
	if ticketID == "" || len(ticketID) > 255 {
		return Ticket{}, &Error{Operation: OpGetTicket, Class: ClassPermanent,
			Message: fmt.Sprintf("ticket id must have 1 to 255 bytes, got %d", len(ticketID))}
	}
	var t Ticket
	err := c.do(ctx, call{
		op: OpGetTicket, method: http.MethodGet, path: pathTickets + "/" + ticketID,
		contentType: contentTypeJSON,
		decode: func(data json.RawMessage) error {
			var w wireTicket
			if err := decodeObject(data, &w); err != nil {
				return err
			}
			t = w.ticket()
			return nil
		},
	})
	return t, err
}

// listRequest is the list-tickets body of API.md 6; the field order is the
// one of the list_tickets_by_source_id signing vector.
type listRequest struct {
	StringFilters []listFilter `json:"string_filters"`
	SortFilter    listFilter   `json:"sort_filter"`
	Page          int          `json:"page"`
	PerPage       int          `json:"per_page"`
	ContainTotal  bool         `json:"contain_total"`
}

type listFilter struct {
	Operator string   `json:"operator"`
	Field    string   `json:"field"`
	Name     string   `json:"name,omitempty"`
	Values   []string `json:"values"`
}

// listPageSize is the per_page of a source_id lookup: the newest tickets
// of a key come first, and a key has few tickets.
const listPageSize = 10

// listBy is the list-tickets body that finds issue tickets whose field
// compares by operator ("=", "in") with values, newest first, one page
// of perPage.
func listBy(operator, field string, values []string, perPage int) listRequest {
	return listRequest{
		StringFilters: []listFilter{{Operator: operator, Field: field, Name: field, Values: values}},
		SortFilter:    listFilter{Operator: "desc", Field: "create_time", Values: []string{"create_time"}},
		Page:          1,
		PerPage:       perPage,
		ContainTotal:  true,
	}
}

// listBySourceID is the body that finds issue tickets whose source_id is id.
func listBySourceID(id string) listRequest {
	return listBy("=", "source_id", []string{id}, listPageSize)
}

// FindTicketsBySourceID returns the newest (up to 10) issue tickets whose
// source_id is sourceID, newest first, deleted and completed ones included
// (the caller decides). COC's filter is not trusted: tickets whose
// source_id differs are dropped. No match (an empty or absent
// data.tickets) gives an empty slice and no error; an answer without a
// data object is an error. Tickets are created asynchronously, so one created a moment ago
// may not be listed yet.
func (c *Client) FindTicketsBySourceID(ctx context.Context, sourceID string) ([]Ticket, error) {
	if sourceID == "" {
		return nil, &Error{Operation: OpListTickets, Class: ClassPermanent, Message: "source_id is empty"}
	}
	return c.listTickets(ctx, listBySourceID(sourceID), func(t Ticket) bool { return t.SourceID == sourceID })
}

// listTickets sends the list-tickets request req and returns the listed
// tickets that keep accepts, in COC's order (an empty slice for none): COC's
// filter is not trusted.
func (c *Client) listTickets(ctx context.Context, req listRequest, keep func(Ticket) bool) ([]Ticket, error) {
	found := []Ticket{}
	err := c.postJSON(ctx, OpListTickets, pathListTickets, req, func(data json.RawMessage) error {
		var w struct {
			Tickets flexList[wireTicket] `json:"tickets"`
		}
		// No data object is not "no match": after an ambiguous create
		// that would lead to a second ticket.
		if err := decodeObject(data, &w); err != nil {
			return err
		}
		found = found[:0]
		for _, wt := range w.Tickets {
			if t := wt.ticket(); keep(t) {
				found = append(found, t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// postJSON POSTs v to path as operation op, marshalled once (marshal) so
// that every attempt signs and sends the same bytes; decode (nil: none)
// reads the data of a success answer. A body that does not marshal is
// ClassPermanent.
func (c *Client) postJSON(ctx context.Context, op, path string, v any, decode func(json.RawMessage) error) error {
	body, err := marshal(v)
	if err != nil {
		return &Error{Operation: op, Class: ClassPermanent, Err: err}
	}
	return c.do(ctx, call{op: op, method: http.MethodPost, path: path,
		body: body, contentType: contentTypeJSONUTF8, decode: decode})
}

// marshal encodes v as compact JSON without HTML escaping (as the SDK
// does) and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode request body: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
