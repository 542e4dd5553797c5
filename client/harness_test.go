package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zaptest"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

const (
	testAK     = "HWCEXAMPLEAK0000001A"
	testSK     = "s3cr3tK3y/EXAMPLE+0123456789abcdefGHIJKL"
	testToken  = "gQpjbi1ub3J0aC00TokenExample/abc+def==="
	testDomain = "6f1c0d2a9b3e4f5a8c7d6e5f4a3b2c1d"
)

// harness is a client talking real HTTP to a fake COC, with recorded
// requests and backoff waits (the SleepFunc records and returns at once).
type harness struct {
	fake *coctest.Server
	srv  *httptest.Server
	reg  *prometheus.Registry
	c    *client.Client

	mu     sync.Mutex
	sleeps []time.Duration
	seen   []seenRequest
}

type seenRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

func newHarness(t *testing.T, fakeOpts func(*coctest.Options), clientOpts func(*client.Options)) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry()}
	fo := coctest.Options{AccessKey: testAK, SecretKey: testSK, DomainID: testDomain, Logger: zaptest.NewLogger(t)}
	if fakeOpts != nil {
		fakeOpts(&fo)
	}
	h.fake = coctest.New(fo)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.mu.Lock()
		h.seen = append(h.seen, seenRequest{r.Method, r.URL.Path, r.Header.Clone(), body})
		h.mu.Unlock()
		h.fake.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	co := client.Options{
		Endpoint:    h.srv.URL,
		Credentials: client.StaticCredentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken},
		DomainID:    testDomain,
		QPS:         1000,
		Burst:       1000,
		Retry: client.RetryPolicy{
			MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second,
			JitterFunc: func(d time.Duration) time.Duration { return d },
			SleepFunc: func(ctx context.Context, d time.Duration) error {
				h.mu.Lock()
				h.sleeps = append(h.sleeps, d)
				h.mu.Unlock()
				return ctx.Err()
			},
		},
		Registerer: h.reg,
		Logger:     zaptest.NewLogger(t),
	}
	if clientOpts != nil {
		clientOpts(&co)
	}
	c, err := client.New(co)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	h.c = c
	return h
}

func (h *harness) waits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

func (h *harness) requests() []seenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seenRequest(nil), h.seen...)
}

// metric returns a counter's value, or a histogram's sample count, of the
// series of name whose labels include the given name/value pairs.
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				if m.GetHistogram() != nil {
					return float64(m.GetHistogram().GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func alarmTicket(sourceID string) client.CreateTicketRequest {
	return client.CreateTicketRequest{
		Title:               "[FIRING:1] DiskFull node-7 <&> ü",
		Description:         "[Symptom] disk /var at 97%\n[Impact on the live network] writes failing",
		EnterpriseProject:   "0",
		Level:               "issues_level_2000",
		TicketType:          "issues_type_1000",
		Regions:             "cn-north-4,cn-south-1",
		Source:              "issues_mgmt_associated_type_2000",
		SourceID:            sourceID,
		FountTime:           1763892930000,
		VirtualScheduleType: "issues_mgmt_virtual_schedule_type_2000",
		IssueContactPerson:  "51875a8200fd45189f94745678545bc3",
	}
}

// authRefused reports whether err is the gateway refusing the credentials or
// the signature (HTTP 401/403).
func authRefused(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}
