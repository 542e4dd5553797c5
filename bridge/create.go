package bridge

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// createOp creates (or, after an unclear attempt, finds and adopts) the
// ticket of a key.
type createOp struct{ dl *deliverer }

func (op createOp) perform(ctx context.Context, d Delivery, log *zap.Logger) (performed, error) {
	o := op.dl.opts
	req, err := render(o.Mapper, d)
	if err != nil {
		return performed{}, failedAt(stepPrepare, err)
	}
	if o.DryRun {
		id := "dry-run-" + d.Key[:min(16, len(d.Key))]
		log.Info("dry run: ticket not sent to COC", zap.String("ticket_id", id),
			zap.String("title", req.Title), zap.String("level", req.Level), zap.String("regions", req.Regions))
		return performed{TicketID: id, Title: req.Title, Level: req.Level, Result: deliveryDryRun}, nil
	}
	if d.LookupFirst {
		found, err := o.COC.FindTicketsBySourceID(ctx, d.Key)
		if err != nil {
			return performed{}, failedAt(stepLookup, fmt.Errorf("look up ticket by source_id: %w", err))
		}
		if t, ok := adoptable(found, d.Key, d.PreviousTicketID, o.Terminal); ok {
			return performed{TicketID: t.TicketID, Title: req.Title, Level: t.Level, Result: deliveryAdopted}, nil
		}
		if later := op.nextLookup(d); later != nil {
			return performed{}, later
		}
	}
	res, err := o.COC.CreateIssueTicket(ctx, req)
	if err != nil {
		return performed{}, failedAt(stepSend, fmt.Errorf("create ticket: %w", err))
	}
	return performed{TicketID: res.TicketID, Title: req.Title, Level: req.Level, Result: deliveryCreated}, nil
}

// nextLookup returns, after a lookup of d that came back empty, the
// lookup still due before a create may be sent (mapping's lookup
// schedule, NextLookup), or nil when a create may be sent now.
//
// A create is unclear since d.UnclearSince. An item looking up without it
// was either never sent (its first attempt, under lookup_before_create, or
// a replay: one lookup is enough) or was taken over from a worker whose
// lease expired, whose create may have been in flight a moment ago (then
// the schedule starts now, with this lookup as its first).
func (op createOp) nextLookup(d Delivery) *lookupLater {
	o := op.dl.opts
	since := o.NowFunc()
	switch {
	case d.UnclearSince != nil:
		since = *d.UnclearSince
	case d.Attempts <= 1:
		return nil
	}
	schedule := o.Mapper.Lookups().Schedule
	// The lookup that just came back empty covers every scheduled one due
	// by now: after an outage longer than the schedule, one lookup is
	// enough.
	done, now := d.LookupsDone+1, o.NowFunc()
	for done < len(schedule) && !since.Add(schedule[done]).After(now) {
		done++
	}
	at, create := NextLookup(schedule, since, done)
	if create {
		return nil
	}
	return &lookupLater{at: at, since: since, done: done, of: len(schedule)}
}

// render maps the stored notification with the current configuration.
func render(m Mapper, d Delivery) (client.CreateTicketRequest, error) {
	msg, err := mapping.Decode(d.Message)
	if err != nil {
		return client.CreateTicketRequest{}, fmt.Errorf("decode stored notification: %w", err)
	}
	t, err := m.Map(msg, mapping.MapOptions{PreviousTicketID: d.PreviousTicketID})
	if err != nil {
		return client.CreateTicketRequest{}, fmt.Errorf("render ticket: %w", err)
	}
	return ticketRequest(t), nil
}

// ticketRequest converts a mapped ticket to COC's create body.
func ticketRequest(t mapping.Ticket) client.CreateTicketRequest {
	return client.CreateTicketRequest{
		Title:                 t.Title,
		Description:           t.Description,
		EnterpriseProject:     t.EnterpriseProject,
		TicketType:            t.TicketType,
		VirtualScheduleType:   t.VirtualScheduleType,
		IssueContactPerson:    t.IssueContactPerson,
		ScheduleScenes:        t.ScheduleScenes,
		VirtualScheduleRole:   t.VirtualScheduleRole,
		Level:                 t.Level,
		Source:                t.Source,
		SourceID:              t.SourceID,
		Regions:               t.Regions,
		FountTime:             t.FountTime,
		RootCauseCloudService: t.RootCauseCloudService,
		IsStartProcess:        t.IsStartProcess,
	}
}

// adoptable picks, among tickets found by source_id, the one an ambiguous
// create may have opened: same source_id, not deleted, not the previous
// (closed) ticket of the key and not finished (TerminalStatuses). The newest wins.
func adoptable(found []client.Ticket, key, previousTicketID string, terminal TerminalStatuses) (client.Ticket, bool) {
	var best client.Ticket
	ok := false
	for _, t := range found {
		if finished, _ := terminal.Finished(ticketStatus(t)); t.SourceID != key || finished || t.TicketID == "" {
			continue
		}
		if previousTicketID != "" && t.TicketID == previousTicketID {
			continue
		}
		if !ok || t.CreateTime > best.CreateTime {
			best, ok = t, true
		}
	}
	return best, ok
}
