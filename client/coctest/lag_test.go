package coctest_test

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
)

// TestVisibilityLag: for the lag after a create, show answers "does not
// exist" and list leaves the ticket out; afterwards both return it.
func TestVisibilityLag(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.fake.SetVisibilityLag(20 * time.Second)
	id, _ := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil).data()["ticket_id"].(string)
	if id == "" {
		t.Fatal("create returned no ticket id")
	}
	const bySource = `{"string_filters":[{"operator":"=","field":"source_id","values":["k1"]}],"contain_total":true}`
	check := func(when string, visible bool) {
		t.Helper()
		show := f.do(t, "GET", "/v1/issues_mgmt/tickets/"+id, "", nil)
		if visible != (show.status == 200) || (!visible && show.code() != client.CodeTicketNotFound) {
			t.Errorf("%s: show = %d %s, want visible=%v", when, show.status, show.code(), visible)
		}
		list := f.do(t, "POST", "/v1/issues_mgmt/list-tickets", bySource, nil)
		tickets, _ := list.data()["tickets"].([]any)
		if list.status != 200 || (len(tickets) == 1) != visible {
			t.Errorf("%s: list = %d with %d tickets, want visible=%v", when, list.status, len(tickets), visible)
		}
	}
	check("right after the create", false)
	f.clock.add(19 * time.Second)
	check("19s after", false)
	f.clock.add(time.Second)
	check("20s after", true)
	if n := len(f.fake.Tickets()); n != 1 {
		t.Errorf("Tickets() = %d, want the lagging ticket too", n)
	}
}
