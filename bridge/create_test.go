package bridge

import (
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
)

func TestAdoptable(t *testing.T) {
	t.Parallel()
	const key = "k1"
	var terminal TerminalStatuses
	open := func(id string, created int64) client.Ticket {
		return client.Ticket{TicketID: id, SourceID: key, WorkFlowStatus: "issues_work_flow_status_1000", CreateTime: created}
	}
	named := func(id, code, name string) client.Ticket {
		return client.Ticket{TicketID: id, SourceID: key, WorkFlowStatus: code, CreateTime: 1,
			EnumDataList: []client.EnumData{{PropID: "work_flow_status", BizID: code, NameEn: name}}}
	}
	tests := []struct {
		name     string
		found    []client.Ticket
		previous string
		want     string
	}{
		{"nothing found", nil, "", ""},
		{"one open ticket", []client.Ticket{open("ISU1", 1)}, "", "ISU1"},
		{"newest of two wins", []client.Ticket{open("ISU1", 1), open("ISU2", 2)}, "", "ISU2"},
		{"previous ticket is not adopted", []client.Ticket{open("ISU1", 1)}, "ISU1", ""},
		{"other source_id ignored", []client.Ticket{{TicketID: "ISU3", SourceID: "other"}}, "", ""},
		{"deleted ignored", []client.Ticket{{TicketID: "ISU4", SourceID: key, IsDeleted: true}}, "", ""},
		{"completed ignored", []client.Ticket{{TicketID: "ISU5", SourceID: key, WorkFlowStatus: "issues_work_flow_status_12000"}}, "", ""},
		{"cancelled ignored", []client.Ticket{named("ISU6", "issues_work_flow_status_7000", "Cancelled")}, "", ""},
		{"rejected ignored", []client.Ticket{named("ISU7", "issues_work_flow_status_8000", "Rejected")}, "", ""},
		{"completed phase ignored", []client.Ticket{{TicketID: "ISU8", SourceID: key, WorkFlowStatus: "x", Phase: PhaseCompleted}}, "", ""},
		{"in progress adopted", []client.Ticket{named("ISU9", "issues_work_flow_status_3000", "Handling")}, "", "ISU9"},
		{"empty id ignored", []client.Ticket{{SourceID: key}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := adoptable(tt.found, key, tt.previous, terminal)
			if ok != (tt.want != "") || got.TicketID != tt.want {
				t.Errorf("adoptable() = %q, %v; want %q", got.TicketID, ok, tt.want)
			}
		})
	}
}
