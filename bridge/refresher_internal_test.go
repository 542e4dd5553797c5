package bridge

import (
	"errors"
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
)

func TestTicketFinished(t *testing.T) {
	t.Parallel()
	terminal, err := NewTerminalStatuses([]string{"issues_work_flow_status_9000"})
	if err != nil {
		t.Fatal(err)
	}
	named := func(code, name string) client.Ticket {
		return client.Ticket{WorkFlowStatus: code, EnumDataList: []client.EnumData{{PropID: "work_flow_status", BizID: code, NameEn: name}}}
	}
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
		{"cancelled by name", named("issues_work_flow_status_7000", "Cancelled"), nil, true, "Cancelled"},
		{"rejected by name", named("issues_work_flow_status_8000", "Rejected"), nil, true, "Rejected"},
		{"pending name stays open", named("issues_work_flow_status_1000", "Pending acceptance"), nil, false, "Pending acceptance"},
		{"completed phase", client.Ticket{WorkFlowStatus: "issues_work_flow_status_5000", Phase: PhaseCompleted}, nil, true, "issues_work_flow_status_5000"},
		{"operator's code", client.Ticket{WorkFlowStatus: "issues_work_flow_status_9000"}, nil, true, "issues_work_flow_status_9000"},
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
