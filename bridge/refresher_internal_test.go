package bridge

import (
	"errors"
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
)

func TestTicketFinished(t *testing.T) {
	t.Parallel()
	terminal := map[string]bool{"issues_work_flow_status_12000": true}
	gone := &client.Error{Operation: "get_ticket", StatusCode: 400, Code: client.CodeTicketNotFound, Class: client.ClassPermanent}
	tests := []struct {
		name     string
		t        client.Ticket
		err      error
		finished bool
		status   string
	}{
		{"open", client.Ticket{WorkFlowStatus: "issues_work_flow_status_1000"}, nil, false, "issues_work_flow_status_1000"},
		{"completed", client.Ticket{WorkFlowStatus: "issues_work_flow_status_12000"}, nil, true, "issues_work_flow_status_12000"},
		{"deleted", client.Ticket{IsDeleted: true}, nil, true, "deleted"},
		{"gone", client.Ticket{}, gone, true, statusNotFound},
		{"error keeps it open", client.Ticket{}, errors.New("boom"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, finished := ticketFinished(tt.t, tt.err, terminal)
			if finished != tt.finished || status != tt.status {
				t.Errorf("ticketFinished() = %q, %v; want %q, %v", status, finished, tt.status, tt.finished)
			}
		})
	}
}
