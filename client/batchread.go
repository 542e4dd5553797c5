package client

import (
	"context"
	"fmt"
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
	listed, err := c.listTickets(ctx, listBy("in", "ticket_id", ticketIDs, len(ticketIDs)),
		func(t Ticket) bool { return slices.Contains(ticketIDs, t.TicketID) })
	if err != nil {
		return nil, err
	}
	found := make(map[string]Ticket, len(listed))
	for _, t := range listed {
		found[t.TicketID] = t
	}
	return found, nil
}
