package coctest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// handle runs an authenticated operation and returns its answer.
func (s *Server) handle(op, ticketID string, body []byte) answer {
	switch op {
	case client.OpCreateTicket:
		return s.create(body)
	case client.OpGetTicket:
		return s.show(ticketID)
	case OpAction:
		return s.action(body)
	default:
		return s.list(body)
	}
}

// invalid is COC's answer to a body it refuses.
func invalid() answer {
	return cocError(http.StatusBadRequest, client.CodeInvalidParameter, "Invalid parameter")
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and wrong types.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

func (s *Server) create(body []byte) answer {
	var req client.CreateTicketRequest
	if err := decodeStrict(body, &req); err != nil {
		s.log.Info("create refused: invalid body", zap.Error(err))
		return invalid()
	}
	if err := validateCreate(req); err != nil {
		s.log.Info("create refused: invalid ticket", zap.Error(err))
		return invalid()
	}
	now := s.now()
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("ISU%s%011d", now.UTC().Format("20060102150405"), s.seq)
	sum := sha256.Sum256([]byte(id))
	t := &Ticket{
		CreateTicketRequest: req, TicketID: id, ID: hex.EncodeToString(sum[:16]),
		WorkFlowStatus: StatusPending, Phase: PhasePending, CreatedAt: now, UpdatedAt: now,
	}
	s.tickets = append(s.tickets, t)
	s.mu.Unlock()
	started := req.IsStartProcess == nil || *req.IsStartProcess
	return cocSuccess(struct {
		IsStartProcessAsync bool   `json:"is_start_process_async"`
		IsUpdateNull        bool   `json:"is_update_null"`
		IsReturnFullInfo    bool   `json:"is_return_full_info"`
		IsStartProcess      bool   `json:"is_start_process"`
		TicketID            string `json:"ticket_id"`
		ID                  string `json:"id"`
	}{true, false, false, started, t.TicketID, t.ID})
}

// validateCreate applies the create page's rules for issue tickets.
func validateCreate(r client.CreateTicketRequest) error {
	var errs []error
	for _, f := range [][2]string{
		{"description", r.Description}, {"enterprise_project", r.EnterpriseProject},
		{"ticket_type", r.TicketType}, {"virtual_schedule_type", r.VirtualScheduleType},
	} {
		if f[1] == "" {
			errs = append(errs, fmt.Errorf("%s is mandatory", f[0]))
		}
	}
	oneOf := func(name, v string, allowed ...string) {
		if v != "" && !slices.Contains(allowed, v) {
			errs = append(errs, fmt.Errorf("%s %q is not one of %v", name, v, allowed))
		}
	}
	if r.Level != "" && !validLevel(r.Level) {
		errs = append(errs, fmt.Errorf("level %q is not a level", r.Level))
	}
	oneOf("source", r.Source, "issues_mgmt_associated_type_1000", "issues_mgmt_associated_type_2000",
		"issues_mgmt_associated_type_3000", "issues_mgmt_associated_type_4000")
	oneOf("virtual_schedule_type", r.VirtualScheduleType,
		"issues_mgmt_virtual_schedule_type_1000", "issues_mgmt_virtual_schedule_type_2000")
	if r.SourceID == "" && slices.Contains([]string{"issues_mgmt_associated_type_1000",
		"issues_mgmt_associated_type_2000", "issues_mgmt_associated_type_3000"}, r.Source) {
		errs = append(errs, errors.New("source_id is mandatory with source "+r.Source))
	}
	if r.VirtualScheduleType == "issues_mgmt_virtual_schedule_type_2000" && r.IssueContactPerson == "" {
		errs = append(errs, errors.New("issue_contact_person is mandatory for an individual owner"))
	}
	if r.FountTime < 0 {
		errs = append(errs, errors.New("fount_time is negative"))
	}
	return errors.Join(errs...)
}

// lookup finds a ticket by number or internal id. Called with s.mu held.
func (s *Server) lookup(id string) *Ticket {
	for _, t := range s.tickets {
		if t.TicketID == id || t.ID == id {
			return t
		}
	}
	return nil
}

func (s *Server) show(id string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(id)
	if t == nil || !s.visible(t) {
		return cocError(http.StatusBadRequest, client.CodeTicketNotFound, "The service ticket does not exist.")
	}
	return cocSuccess(view(t))
}

// Ticket returns a copy of the ticket with that number or internal id.
func (s *Server) Ticket(id string) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.lookup(id); t != nil {
		return copyTicket(t), true
	}
	return Ticket{}, false
}

// Complete moves the ticket to Completed (work_flow_status
// issues_work_flow_status_12000, phase issues_phase_4000).
func (s *Server) Complete(ticketID string) error {
	return s.change(ticketID, func(t *Ticket) { t.WorkFlowStatus, t.Phase = StatusCompleted, PhaseCompleted })
}

// Delete marks the ticket deleted (is_deleted true); it is still shown.
func (s *Server) Delete(ticketID string) error {
	return s.change(ticketID, func(t *Ticket) { t.IsDeleted = true })
}

// Forget removes the ticket: show answers 400 COC.00067003 and lists no
// longer contain it.
func (s *Server) Forget(ticketID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.tickets)
	s.tickets = slices.DeleteFunc(s.tickets, func(t *Ticket) bool { return t.TicketID == ticketID || t.ID == ticketID })
	if len(s.tickets) == n {
		return fmt.Errorf("forget %q: %w", ticketID, ErrNoTicket)
	}
	return nil
}

func (s *Server) change(id string, f func(*Ticket)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(id)
	if t == nil {
		return fmt.Errorf("change %q: %w", id, ErrNoTicket)
	}
	f(t)
	t.UpdatedAt = s.now()
	return nil
}
