package coctest

// ticketView is a ticket as COC's show API answers it (seed 000): the
// fields a bridge reads, with enum_data_list display names.
type ticketView struct {
	TicketType            string     `json:"ticket_type"`
	Level                 string     `json:"level"`
	RootCauseCloudService string     `json:"root_cause_cloud_service,omitempty"`
	IssueContactPerson    string     `json:"issue_contact_person,omitempty"`
	Source                string     `json:"source"`
	SourceID              string     `json:"source_id"`
	EnterpriseProject     string     `json:"enterprise_project"`
	VirtualScheduleType   string     `json:"virtual_schedule_type"`
	ScheduleScenes        string     `json:"schedule_scenes,omitempty"`
	VirtualScheduleRole   string     `json:"virtual_schedule_role,omitempty"`
	Title                 string     `json:"title"`
	Regions               string     `json:"regions"`
	Description           string     `json:"description"`
	RegionsSerch          string     `json:"regions_serch"`
	FountTime             int64      `json:"fount_time"`
	IsStartProcessAsync   bool       `json:"is_start_process_async"`
	IsStartProcess        bool       `json:"is_start_process"`
	TicketID              string     `json:"ticket_id"`
	RealTicketID          string     `json:"real_ticket_id"`
	Assignee              string     `json:"assignee"`
	WorkFlowStatus        string     `json:"work_flow_status"`
	BaselineStatus        string     `json:"baseline_status"`
	Phase                 string     `json:"phase"`
	SubTickets            []struct{} `json:"sub_tickets"`
	EnumDataList          []enumData `json:"enum_data_list"`
	ID                    string     `json:"id"`
	UpdateTime            int64      `json:"update_time"`
	CreateTime            int64      `json:"create_time"`
	IsDeleted             bool       `json:"is_deleted"`
	TicketTypeID          string     `json:"ticket_type_id"`
}

type enumData struct {
	IsDeleted    bool   `json:"is_deleted"`
	MatchType    string `json:"match_type"`
	TicketID     string `json:"ticket_id"`
	RealTicketID string `json:"real_ticket_id"`
	NameZh       string `json:"name_zh"`
	NameEn       string `json:"name_en"`
	BizID        string `json:"biz_id"`
	PropID       string `json:"prop_id"`
	ModelID      string `json:"model_id"`
}

// enumNames are English display names of the enum values the fake knows.
func enumNames() map[string]string {
	return map[string]string{
		StatusPending:                            "Pending acceptance",
		StatusCompleted:                          "Completed",
		StatusHandling:                           "Handling",
		StatusToBeVerified:                       "To be verified",
		StatusCancelled:                          "Cancelled",
		StatusRejected:                           "Rejected",
		"issues_level_1000":                      "Critical",
		"issues_level_2000":                      "Major",
		"issues_level_3000":                      "Minor",
		"issues_level_4000":                      "Warning",
		"issues_mgmt_associated_type_1000":       "Incidents",
		"issues_mgmt_associated_type_2000":       "alarms",
		"issues_mgmt_associated_type_3000":       "War room",
		"issues_mgmt_associated_type_4000":       "Proactive O&M discovery",
		"issues_mgmt_virtual_schedule_type_1000": "Shift",
		"issues_mgmt_virtual_schedule_type_2000": "Individuals",
	}
}

// view renders t. Called with s.mu held.
func view(t *Ticket) ticketView {
	v := ticketView{
		TicketType: t.TicketType, Level: t.Level, RootCauseCloudService: t.RootCauseCloudService,
		IssueContactPerson: t.IssueContactPerson, Source: t.Source, SourceID: t.SourceID,
		EnterpriseProject: t.EnterpriseProject, VirtualScheduleType: t.VirtualScheduleType,
		ScheduleScenes: t.ScheduleScenes, VirtualScheduleRole: t.VirtualScheduleRole,
		Title: t.Title, Regions: t.Regions, Description: t.Description, FountTime: t.FountTime,
		IsStartProcessAsync: true, IsStartProcess: t.IsStartProcess == nil || *t.IsStartProcess,
		TicketID: t.TicketID, RealTicketID: t.TicketID, WorkFlowStatus: t.WorkFlowStatus,
		BaselineStatus: "issues_mgmt_draft", Phase: t.Phase, SubTickets: []struct{}{},
		ID: t.ID, UpdateTime: t.UpdatedAt.UnixMilli(), CreateTime: t.CreatedAt.UnixMilli(),
		IsDeleted: t.IsDeleted, TicketTypeID: "issues_mgmt",
	}
	if t.Regions != "" {
		v.RegionsSerch = t.Regions + ","
	}
	names := enumNames()
	for _, p := range [][2]string{
		{"ticket_type", t.TicketType}, {"virtual_schedule_type", t.VirtualScheduleType},
		{"work_flow_status", t.WorkFlowStatus}, {"source", t.Source}, {"level", t.Level},
	} {
		if p[1] == "" {
			continue
		}
		name := names[p[1]]
		if p[0] == "work_flow_status" && t.StatusName != "" {
			name = t.StatusName
		}
		if name == "" {
			name = p[1]
		}
		v.EnumDataList = append(v.EnumDataList, enumData{
			MatchType: "enum", TicketID: t.ID, RealTicketID: t.TicketID,
			NameZh: name, NameEn: name, BizID: p[1], PropID: p[0], ModelID: "TicketInfo",
		})
	}
	return v
}
