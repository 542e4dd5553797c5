package mapping

import (
	"fmt"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// alertSpec describes one test alert.
type alertSpec struct {
	status   string // default firing
	severity string // "" leaves the label out
	region   string // "" leaves the label out
	labels   template.KV
	startsAt time.Time
}

// testMessage builds a valid notification of the group {alertname="Test"}.
func testMessage(receiver string, specs ...alertSpec) *Message {
	status := StatusResolved
	alerts := make(template.Alerts, 0, len(specs))
	for i, s := range specs {
		if s.status == "" {
			s.status = StatusFiring
		}
		if s.status == StatusFiring {
			status = StatusFiring
		}
		labels := template.KV{"alertname": "Test", "instance": fmt.Sprintf("host-%d", i)}
		if s.severity != "" {
			labels["severity"] = s.severity
		}
		if s.region != "" {
			labels["region"] = s.region
		}
		for k, v := range s.labels {
			labels[k] = v
		}
		alerts = append(alerts, template.Alert{
			Status: s.status, Labels: labels, Annotations: template.KV{"summary": "test"},
			StartsAt: s.startsAt, Fingerprint: fmt.Sprintf("%016x", i+1),
		})
	}
	return &Message{
		Data: &template.Data{
			Receiver: receiver, Status: status, Alerts: alerts,
			GroupLabels:       template.KV{"alertname": "Test"},
			CommonLabels:      template.KV{"alertname": "Test"},
			CommonAnnotations: template.KV{"summary": "test"},
			ExternalURL:       "http://alertmanager.example:9093",
		},
		Version:  "4",
		GroupKey: `{}:{alertname="Test"}`,
	}
}

func msgWith(status string) *Message {
	return testMessage("r", alertSpec{status: status})
}
