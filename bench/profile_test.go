package bench_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coc-bridge/coc-bridge/bench"
	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
	"github.com/coc-bridge/coc-bridge/bridge/postgres/pgtest"
	"github.com/coc-bridge/coc-bridge/bridge/sqlite"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// The benchmarks here run the bridge in-process (the same wiring as the
// binary: SQLite store, the real client, the fake COC on loopback) so the
// webhook path can be profiled:
//
//	go test -run '^$' -bench Webhook -cpuprofile cpu.out ./bench/
//	go tool pprof -top cpu.out

// inProcess starts the fake COC and a bridge serving on loopback; it returns
// the webhook URL.
func inProcess(b *testing.B) string {
	url, _ := inProcessFake(b, coctest.Options{})
	return url
}

// inProcessFake is inProcess with the fake's QPS limit and latency from
// fo; it also returns the fake.
func inProcessFake(b *testing.B, fo coctest.Options) (string, *coctest.Server) {
	return inProcessWith(b, setup{fake: fo})
}

// setup is what a benchmark changes in the in-process wiring.
type setup struct {
	fake    coctest.Options       // the fake's QPS limit and latency
	mapping func(*mapping.Config) // nil: the default mapping
	// noDelivery leaves the delivery workers stopped, so only the accept
	// path runs.
	noDelivery bool
	// maxBody is the webhook body limit (0: the default).
	maxBody int64
	// postgresDSN, when set, stores on PostgreSQL (in a schema of its own,
	// dropped afterwards) instead of a SQLite file.
	postgresDSN string
}

func inProcessWith(b *testing.B, su setup) (string, *coctest.Server) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fo := su.fake
	fake := coctest.New(coctest.Options{AccessKey: "ak", SecretKey: "sk", DomainID: "d", QPSLimit: fo.QPSLimit, Latency: fo.Latency})
	cocSrv := httptest.NewServer(fake)
	coc, err := client.New(client.Options{
		Endpoint:    cocSrv.URL,
		Credentials: client.StaticCredentials{AccessKey: "ak", SecretKey: client.Secret("sk")},
		DomainID:    "d", QPS: 100, Burst: 100,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	var store bridge.Store
	if su.postgresDSN != "" {
		store = openPostgres(b, su.postgresDSN)
	} else {
		s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		store = s
	}
	mcfg := mapping.DefaultConfig()
	mcfg.Fields.IssueContactPerson = "bench-owner"
	if su.mapping != nil {
		su.mapping(&mcfg)
	}
	mapper, err := mapping.New(mcfg)
	if err != nil {
		b.Fatal(err)
	}
	br, err := bridge.New(bridge.Options{Store: store, Mapper: mapper, COC: coc, Registerer: prometheus.NewRegistry(),
		MaxBodyBytes: su.maxBody})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(br.Handler())
	done := make(chan error, 1)
	if su.noDelivery {
		done <- nil
	} else {
		go func() { done <- br.Run(ctx) }()
	}
	b.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			b.Errorf("run: %v", err)
		}
		_ = store.Close()
		cocSrv.Close()
	})
	return srv.URL + "/api/v1/alerts", fake
}

func post(b *testing.B, c *http.Client, url string, body []byte) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("status %d", resp.StatusCode)
	}
}

func client16() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
}

// BenchmarkWebhookRepeats is issue 14's repeats shape: 100 groups of 5
// alerts, every one a repeat of a group with an open ticket, 16 senders.
func BenchmarkWebhookRepeats(b *testing.B) {
	webhookRepeats(b, "")
}

// BenchmarkWebhookRepeatsPostgres is BenchmarkWebhookRepeats on PostgreSQL
// (COC_BRIDGE_TEST_POSTGRES_DSN).
func BenchmarkWebhookRepeatsPostgres(b *testing.B) {
	webhookRepeats(b, pgtest.DSN(b))
}

func webhookRepeats(b *testing.B, postgresDSN string) {
	url, fake := inProcessWith(b, setup{postgresDSN: postgresDSN})
	bodies := bench.Bodies(0, 100, 5)
	c := client16()
	for _, body := range bodies { // open the tickets first
		post(b, c, url, body)
	}
	deadline := time.Now().Add(time.Minute)
	for len(fake.Tickets()) < len(bodies) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d tickets after a minute", len(fake.Tickets()), len(bodies))
		}
		time.Sleep(10 * time.Millisecond)
	}
	var next atomic.Int64
	b.SetParallelism(8) // 8 x GOMAXPROCS(2) = 16 senders on this machine kind
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, c, url, bodies[int(next.Add(1))%len(bodies)])
		}
	})
}

// BenchmarkWebhookNewGroups is the storm shape: every notification is a new
// group (an outbox item and a ledger row each).
func BenchmarkWebhookNewGroups(b *testing.B) {
	url := inProcess(b)
	bodies := bench.Bodies(0, 2000, 10)
	c := client16()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			body := bodies[i%len(bodies)]
			if i >= len(bodies) {
				// Past the pre-rendered set: render a fresh group.
				body = bench.Body(i, 10, time.Now().Add(-time.Minute))
			}
			post(b, c, url, body)
		}
	})
}

// BenchmarkWebhookAlertModeFlood is one notification of 10,000 new alerts
// with dedupe_by: alert: 10,000 keys, each a ledger row and an outbox item,
// answered once all are stored. Delivery is stopped so the accept path
// alone is timed; ns/op is the time to answer one such notification.
func BenchmarkWebhookAlertModeFlood(b *testing.B) {
	alertModeFlood(b, "")
}

// BenchmarkWebhookAlertModeFloodPostgres is BenchmarkWebhookAlertModeFlood
// on PostgreSQL (COC_BRIDGE_TEST_POSTGRES_DSN).
func BenchmarkWebhookAlertModeFloodPostgres(b *testing.B) {
	alertModeFlood(b, pgtest.DSN(b))
}

// alertModeFlood posts b.N notifications of 10,000 new alerts each, on
// SQLite or, with a DSN, on PostgreSQL.
func alertModeFlood(b *testing.B, postgresDSN string) {
	const alerts = 10000
	url, _ := inProcessWith(b, setup{
		mapping:     func(c *mapping.Config) { c.DedupeBy = mapping.KeyByAlert },
		noDelivery:  true,
		maxBody:     64 << 20, // 10,000 alerts with kube-state-metrics' labels are about 9 MiB
		postgresDSN: postgresDSN,
	})
	c := client16()
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = bench.Body(i, alerts, time.Now().Add(-time.Minute))
	}
	b.ResetTimer()
	for i := range b.N {
		post(b, c, url, bodies[i])
	}
	b.ReportMetric(float64(b.N*alerts)/b.Elapsed().Seconds(), "alerts/s")
}

// openPostgres opens a store in a new schema of dsn's database, dropped
// when b ends.
func openPostgres(b *testing.B, dsn string) bridge.Store {
	b.Helper()
	store, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: pgtest.Schema(b, dsn, "coc_bridge_bench_")})
	if err != nil {
		b.Fatal(err)
	}
	return store
}

// BenchmarkDrainBacklog is the storm's delivery side: b.N new groups are
// accepted first, then the timer runs until the workers have created all
// b.N tickets at the fake (50 ms latency, no QPS limit, so the bridge's own
// cost per delivery shows). Run it with -benchtime=2000x.
func BenchmarkDrainBacklog(b *testing.B) {
	url, fake := inProcessFake(b, coctest.Options{Latency: 50 * time.Millisecond})
	c := client16()
	start := time.Now().Add(-time.Minute)
	for i := range b.N {
		post(b, c, url, bench.Body(i, 10, start))
	}
	b.ResetTimer()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Minute)
	defer deadline.Stop()
	for len(fake.Tickets()) < b.N {
		select {
		case <-tick.C:
		case <-deadline.C:
			b.Fatalf("%d of %d tickets after 10m", len(fake.Tickets()), b.N)
		}
	}
}
