package coctest

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// listBody is the list-tickets request (SDK model ListTicketParamsWithPage).
type listBody struct {
	StringFilters    []listFilter `json:"string_filters"`
	SortFilter       *listFilter  `json:"sort_filter"`
	Page             int          `json:"page"`
	PerPage          int          `json:"per_page"`
	ContainAll       bool         `json:"contain_all"`
	ContainTotal     bool         `json:"contain_total"`
	ContainSubTicket bool         `json:"contain_sub_ticket"`
	TicketTypes      []string     `json:"ticket_types"`
}

type listFilter struct {
	Name     string   `json:"name"`
	Operator string   `json:"operator"`
	Field    string   `json:"field"`
	Values   []string `json:"values"`
}

// list answers data.tickets (one page, sorted) and data.total (all
// matches). Without a sort_filter the newest tickets come first;
// contain_all returns every match on one page.
func (s *Server) list(body []byte) answer {
	var req listBody
	if err := decodeStrict(body, &req); err != nil {
		s.log.Info("list refused: invalid body", zap.Error(err))
		return invalid()
	}
	if !validList(req) {
		s.log.Info("list refused: invalid filter, sort or paging")
		return invalid()
	}
	s.mu.Lock()
	var match []*Ticket
	for _, t := range s.tickets {
		if matchesAll(t, req.StringFilters) && s.visible(t) {
			match = append(match, t)
		}
	}
	views := make([]ticketView, 0, len(match))
	sortTickets(match, req.SortFilter)
	page, per := max(req.Page, 1), req.PerPage
	if per == 0 {
		per = 10
	}
	from, to := min((page-1)*per, len(match)), min(page*per, len(match))
	if req.ContainAll {
		from, to = 0, len(match)
	}
	for _, t := range match[from:to] {
		views = append(views, view(t))
	}
	s.mu.Unlock()
	return cocSuccess(struct {
		Tickets []ticketView `json:"tickets"`
		Total   int          `json:"total"`
	}{views, len(match)})
}

// validOperator accepts the filter operators of the ObjectFilter model.
func validOperator(op string) bool {
	return slices.Contains([]string{"=", "!=", "in", "like", "startwith", "endwith", ">", "<"}, op)
}

func validList(r listBody) bool {
	if len(r.StringFilters) > 20 || r.Page < 0 || r.PerPage < 0 || r.PerPage > 1000 {
		return false
	}
	for _, f := range r.StringFilters {
		if _, ok := field(&Ticket{}, f.Field); !ok || !validOperator(f.Operator) || len(f.Values) == 0 {
			return false
		}
	}
	if r.SortFilter != nil {
		if _, ok := field(&Ticket{}, r.SortFilter.Field); !ok {
			return false
		}
		if r.SortFilter.Operator != "asc" && r.SortFilter.Operator != "desc" {
			return false
		}
	}
	return true
}

// field returns a ticket field by its JSON name, as text.
func field(t *Ticket, name string) (string, bool) {
	switch name {
	case "ticket_id", "real_ticket_id":
		return t.TicketID, true
	case "id":
		return t.ID, true
	case "source_id":
		return t.SourceID, true
	case "source":
		return t.Source, true
	case "level":
		return t.Level, true
	case "title":
		return t.Title, true
	case "description":
		return t.Description, true
	case "regions":
		return t.Regions, true
	case "ticket_type":
		return t.TicketType, true
	case "enterprise_project":
		return t.EnterpriseProject, true
	case "virtual_schedule_type":
		return t.VirtualScheduleType, true
	case "issue_contact_person":
		return t.IssueContactPerson, true
	case "work_flow_status":
		return t.WorkFlowStatus, true
	case "phase":
		return t.Phase, true
	case "is_deleted":
		return strconv.FormatBool(t.IsDeleted), true
	case "fount_time":
		return strconv.FormatInt(t.FountTime, 10), true
	case "create_time":
		return strconv.FormatInt(t.CreatedAt.UnixMilli(), 10), true
	case "update_time":
		return strconv.FormatInt(t.UpdatedAt.UnixMilli(), 10), true
	}
	return "", false
}

func matchesAll(t *Ticket, filters []listFilter) bool {
	for _, f := range filters {
		v, _ := field(t, f.Field)
		if !matches(v, f) {
			return false
		}
	}
	return true
}

func matches(v string, f listFilter) bool {
	anyOf := func(pred func(string) bool) bool { return slices.ContainsFunc(f.Values, pred) }
	switch f.Operator {
	case "=", "in":
		return slices.Contains(f.Values, v)
	case "!=":
		return !slices.Contains(f.Values, v)
	case "like":
		return anyOf(func(x string) bool { return strings.Contains(v, x) })
	case "startwith":
		return anyOf(func(x string) bool { return strings.HasPrefix(v, x) })
	case "endwith":
		return anyOf(func(x string) bool { return strings.HasSuffix(v, x) })
	case ">":
		return compare(v, f.Values[0]) > 0
	case "<":
		return compare(v, f.Values[0]) < 0
	}
	return false
}

// compare orders numerically when both sides are integers, else as text.
func compare(a, b string) int {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}

// sortTickets sorts by the sort filter's field (default: create_time,
// newest first); ties are broken by creation order, reversed for desc.
func sortTickets(ts []*Ticket, sf *listFilter) {
	name, desc := "create_time", true
	if sf != nil {
		name, desc = sf.Field, sf.Operator == "desc"
	}
	order := make(map[*Ticket]int, len(ts))
	for i, t := range ts {
		order[t] = i
	}
	slices.SortFunc(ts, func(a, b *Ticket) int {
		x, _ := field(a, name)
		y, _ := field(b, name)
		c := cmp.Or(compare(x, y), cmp.Compare(order[a], order[b]))
		if desc {
			return -c
		}
		return c
	})
}
