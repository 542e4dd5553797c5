package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// Ticket is an issue ticket as COC shows it (API.md 5); list-tickets
// returns the same shape.
type Ticket struct {
	TicketID          string // ticket number, ISU...
	RealTicketID      string
	ID                string // internal id
	WorkFlowStatus    string // e.g. issues_work_flow_status_12000 (Completed)
	Phase             string
	BaselineStatus    string // not a state: issues_mgmt_draft even when completed
	Source            string
	SourceID          string
	Level             string
	Regions           string
	Title             string
	Description       string
	TicketType        string
	EnterpriseProject string
	IsDeleted         bool
	FountTime         int64 // epoch milliseconds
	CreateTime        int64 // epoch milliseconds
	UpdateTime        int64 // epoch milliseconds
	EnumDataList      []EnumData
}

// EnumData is an entry of enum_data_list: display names of a field value.
type EnumData struct {
	PropID    string // field name, e.g. work_flow_status
	BizID     string // field value, e.g. issues_work_flow_status_12000
	NameEn    string
	NameZh    string
	MatchType string // "enum", or reference__base_config.User and similar
	UserName  string // for user references
}

// StatusName returns the English name of the ticket's workflow status from
// enum_data_list ("Completed"), or WorkFlowStatus itself when COC sent none.
func (t Ticket) StatusName() string {
	for _, e := range t.EnumDataList {
		if e.PropID == "work_flow_status" && e.BizID == t.WorkFlowStatus && e.NameEn != "" {
			return e.NameEn
		}
	}
	return t.WorkFlowStatus
}

// wireTicket decodes a ticket leniently: a field of an unexpected type
// becomes its zero value instead of failing the whole answer.
type wireTicket struct {
	TicketID          flexString             `json:"ticket_id"`
	RealTicketID      flexString             `json:"real_ticket_id"`
	ID                flexString             `json:"id"`
	WorkFlowStatus    flexString             `json:"work_flow_status"`
	Phase             flexString             `json:"phase"`
	BaselineStatus    flexString             `json:"baseline_status"`
	Source            flexString             `json:"source"`
	SourceID          flexString             `json:"source_id"`
	Level             flexString             `json:"level"`
	Regions           flexString             `json:"regions"`
	Title             flexString             `json:"title"`
	Description       flexString             `json:"description"`
	TicketType        flexString             `json:"ticket_type"`
	EnterpriseProject flexString             `json:"enterprise_project"`
	IsDeleted         flexBool               `json:"is_deleted"`
	FountTime         flexInt                `json:"fount_time"`
	CreateTime        flexInt                `json:"create_time"`
	UpdateTime        flexInt                `json:"update_time"`
	EnumDataList      flexList[wireEnumData] `json:"enum_data_list"`
}

type wireEnumData struct {
	PropID    flexString `json:"prop_id"`
	BizID     flexString `json:"biz_id"`
	NameEn    flexString `json:"name_en"`
	NameZh    flexString `json:"name_zh"`
	MatchType flexString `json:"match_type"`
	UserName  flexString `json:"user_name"`
}

func (w wireTicket) ticket() Ticket {
	t := Ticket{
		TicketID: string(w.TicketID), RealTicketID: string(w.RealTicketID), ID: string(w.ID),
		WorkFlowStatus: string(w.WorkFlowStatus), Phase: string(w.Phase), BaselineStatus: string(w.BaselineStatus),
		Source: string(w.Source), SourceID: string(w.SourceID), Level: string(w.Level), Regions: string(w.Regions),
		Title: string(w.Title), Description: string(w.Description), TicketType: string(w.TicketType),
		EnterpriseProject: string(w.EnterpriseProject), IsDeleted: bool(w.IsDeleted),
		FountTime: int64(w.FountTime), CreateTime: int64(w.CreateTime), UpdateTime: int64(w.UpdateTime),
	}
	for _, e := range w.EnumDataList {
		t.EnumDataList = append(t.EnumDataList, EnumData{
			PropID: string(e.PropID), BizID: string(e.BizID), NameEn: string(e.NameEn),
			NameZh: string(e.NameZh), MatchType: string(e.MatchType), UserName: string(e.UserName),
		})
	}
	return t
}

// errNoData is returned when a success answer has no data object.
var errNoData = errors.New("success answer without a data object")

// decodeObject decodes data, which must be a JSON object, into v.
func decodeObject(data json.RawMessage, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return errNoData
	}
	return json.Unmarshal(data, v)
}

// flexString accepts a string, a number or a bool (as its text); anything
// else, null included, gives "".
type flexString string

// UnmarshalJSON never fails.
func (f *flexString) UnmarshalJSON(b []byte) error {
	*f = ""
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return nil
	}
	*f = flexString(rawString(b))
	return nil
}

// flexInt accepts a number (truncated) or a numeric string; else 0.
type flexInt int64

// UnmarshalJSON never fails.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := rawString(b)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = flexInt(n)
	} else if x, err := strconv.ParseFloat(s, 64); err == nil && x >= -9.2e18 && x <= 9.2e18 {
		*f = flexInt(int64(x))
	} else {
		*f = 0
	}
	return nil
}

// flexBool accepts true/false, their string forms, and 0/1; else false.
type flexBool bool

// UnmarshalJSON never fails.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseBool(rawString(b))
	*f = flexBool(err == nil && v)
	return nil
}

// flexList accepts an array and skips elements that do not decode; any
// other value gives an empty list.
type flexList[T any] []T

// UnmarshalJSON never fails.
func (f *flexList[T]) UnmarshalJSON(b []byte) error {
	*f = nil
	var raws []json.RawMessage
	if json.Unmarshal(b, &raws) != nil {
		return nil
	}
	for _, r := range raws {
		var v T
		if json.Unmarshal(r, &v) == nil {
			*f = append(*f, v)
		}
	}
	return nil
}
