package mapping

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// benchBody is a realistic 10-alert notification.
func benchBody(b *testing.B) []byte {
	b.Helper()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	alerts := make(template.Alerts, 10)
	for i := range alerts {
		region := []string{"cn-north-4", "cn-south-1", "ap-southeast-3"}[i%3]
		alerts[i] = template.Alert{
			Status: StatusFiring,
			Labels: template.KV{"alertname": "HighErrorRate", "service": "api-gateway", "env": "prod", "job": "api-gateway",
				"severity": []string{"critical", "major", "warning"}[i%3], "region": region,
				"instance": fmt.Sprintf("api-gw-%d.%s:8080", i, region)},
			Annotations: template.KV{
				"summary":     fmt.Sprintf("5xx error rate of api-gateway in %s is %d%%", region, 5+i),
				"description": "The error rate is above the 5% threshold over the last 5 minutes; check the latest deployment.",
				"runbook_url": "https://runbooks.example.com/api-gateway/high-error-rate",
			},
			StartsAt:     t0.Add(time.Duration(i) * time.Minute),
			GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=rate%28http_requests_total%5B5m%5D%29&g0.tab=1",
			Fingerprint:  fmt.Sprintf("%016x", i+1),
		}
	}
	body, err := json.Marshal(Message{
		Data: &template.Data{
			Receiver: "coc-bridge", Status: StatusFiring, Alerts: alerts,
			GroupLabels:       template.KV{"alertname": "HighErrorRate", "service": "api-gateway"},
			CommonLabels:      template.KV{"alertname": "HighErrorRate", "service": "api-gateway", "env": "prod", "job": "api-gateway"},
			CommonAnnotations: template.KV{"runbook_url": "https://runbooks.example.com/api-gateway/high-error-rate"},
			ExternalURL:       "http://alertmanager.example.com:9093",
		},
		Version:  "4",
		GroupKey: `{}/{env="prod"}:{alertname="HighErrorRate", service="api-gateway"}`,
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkDecodeAndKey is the accept path: decode, split, key, level.
func BenchmarkDecodeAndKey(b *testing.B) {
	body := benchBody(b)
	m := mustMapper(b, testConfig())
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		msg, err := Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, part := range m.Split(msg) {
			_ = m.Key(part)
			_, _ = m.Level(part)
		}
	}
}

// BenchmarkMap is the delivery path's rendering of one ticket.
func BenchmarkMap(b *testing.B) {
	msg, err := Decode(benchBody(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, limit := range []int{DefaultMaxDescriptionRunes, 1000} {
		b.Run(fmt.Sprintf("max_description_runes=%d", limit), func(b *testing.B) {
			cfg := testConfig()
			cfg.MaxDescriptionRunes = limit
			m := mustMapper(b, cfg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Map(msg, MapOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
