package storetest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// BenchmarkAccept measures Accept throughput with concurrent callers (16
// per GOMAXPROCS, like many webhooks in flight) and reports accepts/s.
// Sub-benchmarks: distinct_keys (every call a first firing: a ledger insert
// and an outbox insert) and repeat_keys (16 hot keys: suppress_pending
// updates). open returns a new, empty store closed by b.Cleanup.
func BenchmarkAccept(b *testing.B, open func(b *testing.B) bridge.Store) {
	b.Run("distinct_keys", func(b *testing.B) { benchAccept(b, open(b), 0) })
	b.Run("repeat_keys", func(b *testing.B) { benchAccept(b, open(b), 16) })
}

// benchAccept accepts b.N notifications; hot > 0 cycles them over that many
// keys.
func benchAccept(b *testing.B, s bridge.Store, hot int64) {
	// A realistic notification body: a few alerts with labels and annotations.
	body := []byte(`{"version":"4","status":"firing","receiver":"team-a","alerts":[` +
		strings.Repeat(`{"status":"firing","labels":{"alertname":"DiskAlmostFull","instance":"node-17:9100","severity":"major"},"annotations":{"summary":"Disk almost full","description":"Less than 5% left on /var"}},`, 5) +
		`{}]}`)
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			k := i
			if hot > 0 {
				k = i % hot
			}
			_, err := s.Accept(b.Context(), bridge.Notification{
				Key: fmt.Sprintf("bench-%08d", k), Receiver: "team-a", Firing: true, Level: "issues_level_2000",
				Message: body, ReceivedAt: at(time.Duration(i) * time.Millisecond),
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepts/s")
}
