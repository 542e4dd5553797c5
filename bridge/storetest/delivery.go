package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var deliveryTests = []test{
	{"ClaimRespectsDueTimeLimitAndOrder", testClaimDueLimitOrder},
	{"ClaimWithoutDueItems", testClaimEmpty},
	{"ExpiredLeaseIsTakenOver", testLeaseTakeover},
	{"LateCompleteRecordsTicket", testLateComplete},
	{"WrongOwnerCompleteRecordsTicket", testWrongOwnerComplete},
	{"LostLeaseRetryAndDeadLetterChangeNothing", testLostLeaseNoChange},
	{"ExpiredLeaseNotTakenOverIsStillHeld", testExpiredNotTakenOver},
	{"RetryReschedulesAndFreesLease", testRetry},
	{"DeadLetterParksItemAndEntry", testDeadLetter},
	{"CompleteUnknownItem", testCompleteUnknown},
	{"CompleteRecordsTitle", testCompleteRecordsTitle},
	{"ExpediteBringsBackedOffItemsForward", testExpedite},
}

func testClaimDueLimitOrder(t *testing.T, h Harness) {
	s := h.Open(t)
	// Accepted out of key order; items are due when accepted.
	for i, sec := range []int{4, 0, 3, 1, 2} {
		accept(t, s, firing(fmt.Sprintf("k%d", i), time.Duration(sec)*time.Second), bridge.DecisionCreate)
	}
	keys := func(ds []bridge.Delivery) string {
		var ks []string
		for _, d := range ds {
			ks = append(ks, d.Key)
		}
		return strings.Join(ks, ",")
	}
	// Only items due by Now, oldest first.
	if got := keys(claim(t, s, ownerA, 2*time.Second, 10)); got != "k1,k3,k4" {
		t.Fatalf("claim at 2s: %s, want k1,k3,k4", got)
	}
	// Limit.
	if got := keys(claim(t, s, ownerA, 10*time.Second, 1)); got != "k2" {
		t.Fatalf("claim with limit 1: %s, want k2", got)
	}
	if got := keys(claim(t, s, ownerA, 10*time.Second, 10)); got != "k0" {
		t.Fatalf("claim: %s, want k0", got)
	}
	claimNone(t, s, ownerA, 10*time.Second)

	// After retries the due time orders claims, not the accept time.
	for _, d := range claim(t, s, ownerA, 2*time.Minute, 10) { // leases expired: taken over
		next := map[string]time.Duration{"k0": 5, "k1": 9, "k2": 7, "k3": 6, "k4": 8}[d.Key] * time.Minute
		if err := s.Retry(t.Context(), bridge.RetryRequest{
			ID: d.ID, Owner: ownerA, NextAttempt: at(next), LastError: "503", Now: at(2 * time.Minute),
		}); err != nil {
			t.Fatalf("Retry(%s): %v", d.Key, err)
		}
	}
	ds := claim(t, s, ownerB, 7*time.Minute, 10)
	if got := keys(ds); got != "k0,k3,k2" {
		t.Fatalf("claim at 7m: %s, want k0,k3,k2", got)
	}
	for _, d := range ds {
		complete(t, s, d, ownerB, "ISU-"+d.Key, 7*time.Minute)
	}
	if got := keys(claim(t, s, ownerB, 9*time.Minute, 10)); got != "k4,k1" {
		t.Fatalf("claim at 9m: %s, want k4,k1", got)
	}
}

func testClaimEmpty(t *testing.T, h Harness) {
	s := h.Open(t)
	claimNone(t, s, ownerA, 0)
	accept(t, s, firing("k1", time.Minute), bridge.DecisionCreate)
	claimNone(t, s, ownerA, time.Minute-time.Millisecond)
	claimOne(t, s, ownerA, time.Minute)
}

func testLeaseTakeover(t *testing.T, h Harness) {
	s := h.Open(t)
	n := firing("k1", 0)
	accept(t, s, n, bridge.DecisionCreate)
	first := claimOne(t, s, ownerA, 0)

	// Held until the lease ends, by any other owner and by the same one.
	claimNone(t, s, ownerB, 30*time.Second)
	claimNone(t, s, ownerB, lease-time.Millisecond)
	claimNone(t, s, ownerA, lease-time.Millisecond)

	// The holder may have created the ticket: the next one looks it up.
	second := claimOne(t, s, ownerB, lease)
	checkDelivery(t, second, bridge.Delivery{
		ID: first.ID, Key: "k1", Receiver: "team-a", Message: n.Message, Attempts: 2, LookupFirst: true,
		Level: n.Level, AcceptedAt: utc(0), LeaseUntil: utc(2 * lease),
	})
	checkItem(t, item(t, s, "k1"), bridge.OutboxItem{
		ID: first.ID, Key: "k1", Receiver: "team-a", State: bridge.ItemPending, Attempts: 2,
		NextAttempt: utc(0), LookupFirst: true, LeaseOwner: ownerB, LeaseUntil: ptr(utc(2 * lease)),
		AcceptedAt: utc(0),
	})
	claimNone(t, s, ownerA, lease+time.Second)
	complete(t, s, second, ownerB, "ISU001", lease+time.Second)
	if e := entry(t, s, "k1"); e.State != bridge.StateOpen || e.TicketID != "ISU001" {
		t.Errorf("entry after Complete: %s %q, want open ISU001", e.State, e.TicketID)
	}
}

func testLateComplete(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	first := claimOne(t, s, ownerA, 0)
	second := claimOne(t, s, ownerB, lease)

	// The first holder created the ticket after losing its lease: it is
	// recorded (it exists in COC) and the item is done with.
	err := s.Complete(t.Context(), bridge.Completion{
		ID: first.ID, Owner: ownerA, TicketID: "ISU-A", Now: at(lease + time.Second),
	})
	wantErrIs(t, "Complete after the lease was taken over", err, bridge.ErrLeaseLost)
	e := entry(t, s, "k1")
	if e.State != bridge.StateOpen || e.TicketID != "ISU-A" || e.OpenedAt == nil || !e.OpenedAt.Equal(at(lease+time.Second)) {
		t.Errorf("entry after a late Complete: %s %q opened %v, want open ISU-A at %v",
			e.State, e.TicketID, e.OpenedAt, at(lease+time.Second))
	}
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 0 {
		t.Errorf("outbox after a late Complete: %+v, want empty", items)
	}

	// The new holder then finds the item gone; the ledger keeps the first ticket.
	err = s.Complete(t.Context(), bridge.Completion{
		ID: second.ID, Owner: ownerB, TicketID: "ISU-B", Adopted: true, Now: at(lease + 2*time.Second),
	})
	wantErrIs(t, "Complete of a completed item", err, bridge.ErrLeaseLost)
	err = s.Retry(t.Context(), bridge.RetryRequest{ID: second.ID, Owner: ownerB, NextAttempt: at(time.Hour)})
	wantErrIs(t, "Retry of a completed item", err, bridge.ErrLeaseLost)
	if e := entry(t, s, "k1"); e.TicketID != "ISU-A" {
		t.Errorf("ticket after the second Complete: %q, want ISU-A", e.TicketID)
	}
	accept(t, s, firing("k1", time.Hour), bridge.DecisionSuppressOpen)
}

func testWrongOwnerComplete(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	d := claimOne(t, s, ownerA, 0)
	err := s.Complete(t.Context(), bridge.Completion{ID: d.ID, Owner: ownerB, TicketID: "ISU-B", Now: at(time.Second)})
	wantErrIs(t, "Complete by another owner", err, bridge.ErrLeaseLost)
	if e := entry(t, s, "k1"); e.State != bridge.StateOpen || e.TicketID != "ISU-B" {
		t.Errorf("entry: %s %q, want open ISU-B", e.State, e.TicketID)
	}
	err = s.Complete(t.Context(), bridge.Completion{ID: d.ID, Owner: ownerA, TicketID: "ISU-A", Now: at(2 * time.Second)})
	wantErrIs(t, "Complete by the holder after another owner's", err, bridge.ErrLeaseLost)
	if e := entry(t, s, "k1"); e.TicketID != "ISU-B" {
		t.Errorf("ticket: %q, want ISU-B", e.TicketID)
	}
}

func testLostLeaseNoChange(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	first := claimOne(t, s, ownerA, 0)
	claimOne(t, s, ownerB, lease)
	held := bridge.OutboxItem{
		ID: first.ID, Key: "k1", Receiver: "team-a", State: bridge.ItemPending, Attempts: 2,
		NextAttempt: utc(0), LookupFirst: true, LeaseOwner: ownerB, LeaseUntil: ptr(utc(2 * lease)),
		AcceptedAt: utc(0),
	}
	for _, owner := range []string{ownerA, "nobody"} {
		err := s.Retry(t.Context(), bridge.RetryRequest{
			ID: first.ID, Owner: owner, NextAttempt: at(time.Hour), LastError: "503", Now: at(lease),
		})
		wantErrIs(t, "Retry by "+owner, err, bridge.ErrLeaseLost)
		err = s.DeadLetter(t.Context(), bridge.DeadLetterRequest{
			ID: first.ID, Owner: owner, Code: "GOM.1", Message: "bad", Now: at(lease),
		})
		wantErrIs(t, "DeadLetter by "+owner, err, bridge.ErrLeaseLost)
	}
	checkItem(t, item(t, s, "k1"), held)
	if e := entry(t, s, "k1"); e.State != bridge.StatePending || e.LastError != "" {
		t.Errorf("entry: %s %q, want pending without error", e.State, e.LastError)
	}
}

func testExpiredNotTakenOver(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	d := claimOne(t, s, ownerA, 0)
	// Nobody claimed the item after its lease ended: the holder still holds it.
	complete(t, s, d, ownerA, "ISU001", 5*lease)
	if e := entry(t, s, "k1"); e.State != bridge.StateOpen {
		t.Errorf("state %s, want open", e.State)
	}
}

func testRetry(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	d := claimOne(t, s, ownerA, 0)
	if err := s.Retry(t.Context(), bridge.RetryRequest{
		ID: d.ID, Owner: ownerA, NextAttempt: at(5 * time.Minute), LastError: "coc: 503 Service Unavailable",
		LookupFirst: true, Now: at(10 * time.Second),
	}); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	checkItem(t, item(t, s, "k1"), bridge.OutboxItem{
		ID: d.ID, Key: "k1", Receiver: "team-a", State: bridge.ItemPending, Attempts: 1,
		NextAttempt: utc(5 * time.Minute), LastError: "coc: 503 Service Unavailable", LookupFirst: true,
		AcceptedAt: utc(0),
	})
	if e := entry(t, s, "k1"); e.State != bridge.StatePending {
		t.Errorf("state %s, want pending", e.State)
	}
	// The lease is free: a second Retry is not the holder's any more.
	err := s.Retry(t.Context(), bridge.RetryRequest{ID: d.ID, Owner: ownerA, NextAttempt: at(time.Hour)})
	wantErrIs(t, "second Retry", err, bridge.ErrLeaseLost)

	claimNone(t, s, ownerB, 5*time.Minute-time.Millisecond)
	d = claimOne(t, s, ownerB, 5*time.Minute)
	if d.Attempts != 2 || !d.LookupFirst {
		t.Errorf("claim after Retry: attempts %d lookup %v, want 2 true", d.Attempts, d.LookupFirst)
	}
	// Retry sets LookupFirst, it does not only raise it.
	if err := s.Retry(t.Context(), bridge.RetryRequest{
		ID: d.ID, Owner: ownerB, NextAttempt: at(6 * time.Minute), LastError: "429", Now: at(5 * time.Minute),
	}); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	d = claimOne(t, s, ownerA, 6*time.Minute)
	if d.Attempts != 3 || d.LookupFirst {
		t.Errorf("claim after the second Retry: attempts %d lookup %v, want 3 false", d.Attempts, d.LookupFirst)
	}
}

func testDeadLetter(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	d := claimOne(t, s, ownerA, 0)
	if err := s.DeadLetter(t.Context(), bridge.DeadLetterRequest{
		ID: d.ID, Owner: ownerA, Code: deadCode, Message: deadMessage, Now: at(time.Second),
	}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	e := entry(t, s, "k1")
	if e.State != bridge.StateDead || !strings.Contains(e.LastError, deadCode) ||
		!strings.Contains(e.LastError, deadMessage) || !e.UpdatedAt.Equal(at(time.Second)) {
		t.Errorf("entry after DeadLetter: %s %q updated %v, want dead, error naming %s and %q, updated %v",
			e.State, e.LastError, e.UpdatedAt, deadCode, deadMessage, at(time.Second))
	}
	checkItem(t, item(t, s, "k1"), bridge.OutboxItem{
		ID: d.ID, Key: "k1", Receiver: "team-a", State: bridge.ItemDead, Attempts: 1, NextAttempt: utc(0),
		LastError: deadMessage, ErrorCode: deadCode, AcceptedAt: utc(0),
	})
	claimNone(t, s, ownerA, 24*time.Hour)
	err := s.DeadLetter(t.Context(), bridge.DeadLetterRequest{ID: d.ID, Owner: ownerA, Code: "x", Now: at(time.Minute)})
	wantErrIs(t, "DeadLetter of a dead item", err, bridge.ErrLeaseLost)
	err = s.Retry(t.Context(), bridge.RetryRequest{ID: d.ID, Owner: ownerA, NextAttempt: at(time.Minute)})
	wantErrIs(t, "Retry of a dead item", err, bridge.ErrLeaseLost)
}

func testCompleteUnknown(t *testing.T, h Harness) {
	s := h.Open(t)
	err := s.Complete(t.Context(), bridge.Completion{ID: 424242, Owner: ownerA, TicketID: "ISU1", Now: at(0)})
	wantErrIs(t, "Complete of an unknown item", err, bridge.ErrLeaseLost)
	err = s.Retry(t.Context(), bridge.RetryRequest{ID: 424242, Owner: ownerA, NextAttempt: at(0)})
	wantErrIs(t, "Retry of an unknown item", err, bridge.ErrLeaseLost)
	err = s.DeadLetter(t.Context(), bridge.DeadLetterRequest{ID: 424242, Owner: ownerA, Code: "x", Now: at(0)})
	wantErrIs(t, "DeadLetter of an unknown item", err, bridge.ErrLeaseLost)
}

// testCompleteRecordsTitle: the title of the created ticket is written by
// Complete; a later cycle's completion without a title keeps it.
func testCompleteRecordsTitle(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	if got := entry(t, s, "k1").Title; got != "" {
		t.Fatalf("title before the ticket exists = %q, want empty", got)
	}
	d := claimOne(t, s, ownerA, 0)
	if err := s.Complete(t.Context(), bridge.Completion{ID: d.ID, Owner: ownerA, TicketID: "ISU1",
		Title: "Disk full on db-1", Now: at(time.Second)}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := entry(t, s, "k1").Title; got != "Disk full on db-1" {
		t.Fatalf("title after Complete = %q, want the rendered title", got)
	}
	if err := s.Release(t.Context(), bridge.Release{Key: "k1", TicketID: "ISU1", Status: "Completed", Now: at(2 * time.Second)}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	accept(t, s, firing("k1", 3*time.Second), bridge.DecisionCreate)
	d = claimOne(t, s, ownerA, 3*time.Second)
	if err := s.Complete(t.Context(), bridge.Completion{ID: d.ID, Owner: ownerA, TicketID: "ISU2", Now: at(4 * time.Second)}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := entry(t, s, "k1"); got.Title != "Disk full on db-1" || got.TicketID != "ISU2" {
		t.Fatalf("entry after an untitled Complete = %+v, want the title kept", got)
	}
}
