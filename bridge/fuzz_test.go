package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/sqlite"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// webhookTarget is a bridge's webhook over real HTTP on a SQLite file, in
// dry-run mode and without its workers: what a request stores stays in the
// store for the test to read.
type webhookTarget struct {
	url    string
	store  bridge.Store
	mapper *mapping.Mapper
}

func newWebhookTarget(tb testing.TB, mode mapping.KeyMode) *webhookTarget {
	tb.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "fuzz.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	cfg := mapping.DefaultConfig()
	cfg.Instance = "fuzz"
	cfg.DedupeBy = mode
	cfg.Fields.IssueContactPerson = testContact
	mapper, err := mapping.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := bridge.New(bridge.Options{
		Store: store, Mapper: mapper, DryRun: true, Logger: zap.NewNop(),
		Registerer: prometheus.NewRegistry(), MaxBodyBytes: 256 << 10,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(b.Handler())
	tb.Cleanup(srv.Close)
	return &webhookTarget{url: srv.URL + "/api/v1/alerts", store: store, mapper: mapper}
}

// decisionAnswer is the 200 answer.
type decisionAnswer struct {
	Status    string `json:"status"`
	Decisions []struct {
		Key      string          `json:"key"`
		Decision bridge.Decision `json:"decision"`
		TicketID string          `json:"ticket_id"`
	} `json:"decisions"`
}

// checkWebhookAnswer posts body and checks the answer's invariants: a 200
// lists one decision per part of the decoded notification, keyed as the
// mapper keys it, each visible in the ledger, and the outbox item it
// queued renders the same notification; any other answer is a 4xx with a
// JSON error that says what is wrong (a 503 only for a store failure,
// which this store does not have). Never a panic (the server would answer
// with a broken connection).
func (w *webhookTarget) checkWebhookAnswer(t *testing.T, body []byte, contentType string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v (the handler panicked?)", err)
	}
	answer, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("answer %d has content type %q: %s", resp.StatusCode, ct, answer)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Status, Error string }
		if err := json.Unmarshal(answer, &e); err != nil || e.Status != "error" || strings.TrimSpace(e.Error) == "" {
			t.Fatalf("answer %d without a clear JSON error: %q", resp.StatusCode, answer)
		}
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("answer %d: %s", resp.StatusCode, answer)
		}
		if resp.StatusCode == http.StatusBadRequest {
			if _, err := mapping.Decode(body); err == nil {
				t.Fatalf("400 for a body Decode accepts: %s", answer)
			}
		}
		return
	}
	var got decisionAnswer
	if err := json.Unmarshal(answer, &got); err != nil || got.Status != "accepted" {
		t.Fatalf("200 answer %q: %v", answer, err)
	}
	msg, err := mapping.Decode(body)
	if err != nil {
		t.Fatalf("200 for a body Decode refuses (%v)", err)
	}
	parts := w.mapper.Split(msg)
	if len(got.Decisions) != len(parts) {
		t.Fatalf("%d decisions for %d parts", len(got.Decisions), len(parts))
	}
	ctx := context.Background()
	for i, d := range got.Decisions {
		if want := w.mapper.Key(parts[i]); d.Key != want {
			t.Fatalf("decision %d is for key %s, the mapper keys the part %s", i, d.Key, want)
		}
		if !isDecision(d.Decision) {
			t.Fatalf("unknown decision %q", d.Decision)
		}
		entries, err := w.store.Ledger(ctx, bridge.LedgerFilter{Key: d.Key})
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision == bridge.DecisionResolvedUnknown {
			continue
		}
		if len(entries) != 1 || entries[0].Receiver != msg.Receiver {
			t.Fatalf("decision %s for %s: ledger holds %+v", d.Decision, d.Key, entries)
		}
	}
	// Deliver by hand what was queued: each item renders a notification of
	// its own key.
	items, err := w.store.Claim(ctx, bridge.ClaimRequest{Owner: "fuzz", Limit: 100, Lease: time.Minute, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range items {
		stored, err := mapping.Decode(item.Message)
		if err != nil {
			t.Fatalf("stored notification of %s does not decode: %v", item.Key, err)
		}
		if key := w.mapper.Key(stored); key != item.Key {
			t.Fatalf("stored notification keys to %s, the item is for %s", key, item.Key)
		}
		if _, err := w.mapper.Map(stored, mapping.MapOptions{}); err != nil {
			t.Fatalf("stored notification of %s does not map: %v", item.Key, err)
		}
		if err := w.store.Complete(ctx, bridge.Completion{ID: item.ID, Owner: "fuzz", TicketID: "dry-run", Now: time.Now()}); err != nil && !errors.Is(err, bridge.ErrLeaseLost) {
			t.Fatal(err)
		}
	}
}

func isDecision(d bridge.Decision) bool {
	for _, v := range bridge.Decisions {
		if d == v {
			return true
		}
	}
	return false
}

// The webhook end to end (HTTP, decoding, keying, SQLite) on any body and
// content type, with notifications keyed by group and split by alert.
func FuzzWebhook(f *testing.F) {
	const ct = "application/json"
	for _, body := range [][]byte{
		firing("Seed"),
		notification("Seed", "resolved", alertSpec{severity: "critical", startsAt: t0}),
		notification("Mixed", "firing", alertSpec{severity: "warning", status: "resolved"}, alertSpec{severity: "page", region: "cn-north-4"}),
		[]byte(`{"version":"4","status":"firing","receiver":"r","alerts":[{"status":"firing","labels":{"a":"1","a":"2"}}],"status":"resolved"}`),
		[]byte("{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"r\\u0000\xff\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"\xfe\":\"\xc3\"}}]}"),
		[]byte(`{"version":"4","status":"firing","receiver":"r","truncatedAlerts":18446744073709551615,"alerts":[{"status":"firing","startsAt":"9999-12-31T23:59:59Z"}]}`),
		[]byte(strings.Repeat("[", 20000)),
		[]byte(`{"version":"4","status":"firing","receiver":"r","alerts":[null,{"status":"firing"}]}`),
		[]byte(`null`), []byte(``), []byte(`{"version":4}`),
	} {
		f.Add(body, ct)
	}
	f.Add(firing("Seed"), "application/json; charset=utf-8")
	f.Add(firing("Seed"), "text/plain")
	f.Add(firing("Seed"), "")
	f.Add(firing("Seed"), "application/json; charset=\"")
	byGroup := newWebhookTarget(f, mapping.KeyByGroup)
	byAlert := newWebhookTarget(f, mapping.KeyByAlert)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		if !validHeaderValue(contentType) {
			return // not a header value a client can send
		}
		byGroup.checkWebhookAnswer(t, body, contentType)
		byAlert.checkWebhookAnswer(t, body, contentType)
	})
}

// validHeaderValue reports whether net/http sends v as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
