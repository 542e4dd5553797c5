package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// MaxTicketsPerRead bounds the ticket numbers of one GetTickets call.
const MaxTicketsPerRead = 100

// GetTickets reads many tickets in one list-tickets call (API.md 6: a
// ticket_id "in" filter, one page as large as the list) and returns those
// COC listed, by ticket number. COC's filter is not trusted: a listed ticket
// whose number was not asked for is dropped. A number missing from the
// answer says nothing (COC may not list deleted tickets, or may not filter
// on ticket_id): read it with GetTicket. At most MaxTicketsPerRead numbers.
func (c *Client) GetTickets(ctx context.Context, ticketIDs []string) (map[string]Ticket, error) {
	if len(ticketIDs) == 0 || len(ticketIDs) > MaxTicketsPerRead || slices.Contains(ticketIDs, "") {
		return nil, &Error{Operation: OpListTickets, Class: ClassPermanent,
			Message: fmt.Sprintf("1 to %d non-empty ticket numbers, got %d", MaxTicketsPerRead, len(ticketIDs))}
	}
	body, err := marshal(listRequest{
		StringFilters: []listFilter{{Operator: "in", Field: "ticket_id", Name: "ticket_id", Values: ticketIDs}},
		SortFilter:    listFilter{Operator: "desc", Field: "create_time", Values: []string{"create_time"}},
		Page:          1,
		PerPage:       len(ticketIDs),
		ContainTotal:  true,
	})
	if err != nil {
		return nil, &Error{Operation: OpListTickets, Class: ClassPermanent, Err: err}
	}
	found := map[string]Ticket{}
	err = c.do(ctx, call{
		op: OpListTickets, method: http.MethodPost, path: pathListTickets,
		body: body, contentType: contentTypeJSONUTF8,
		decode: func(data json.RawMessage) error {
			var w struct {
				Tickets flexList[wireTicket] `json:"tickets"`
			}
			if err := decodeObject(data, &w); err != nil {
				return err
			}
			clear(found)
			for _, wt := range w.Tickets {
				if t := wt.ticket(); slices.Contains(ticketIDs, t.TicketID) {
					found[t.TicketID] = t
				}
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}
