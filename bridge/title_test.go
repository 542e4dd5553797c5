package bridge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestLedgerShowsTheTicketTitle: the title rendered for COC is what
// /api/v1/tickets shows for the key, so operators can tell groups apart.
func TestLedgerShowsTheTicketTitle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.mustAccept(firing("Titled"))
	e.waitSettled(1)
	want := e.fake.Tickets()[0].Title
	if want == "" {
		t.Fatal("the fake COC holds a ticket without a title")
	}
	resp, err := http.Get(e.webhook.URL + "/api/v1/tickets?state=open")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var view struct {
		Tickets []struct {
			Title string `json:"title"`
		} `json:"tickets"`
	}
	if err := json.Unmarshal(b, &view); err != nil || len(view.Tickets) != 1 {
		t.Fatalf("GET /api/v1/tickets = %s (%v)", b, err)
	}
	if got := view.Tickets[0].Title; got != want {
		t.Errorf("ledger title = %q, want the title COC got %q", got, want)
	}
}
