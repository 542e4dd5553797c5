package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// sampleOptions varies the sample notification.
type sampleOptions struct {
	// Group is the value of the sample's "service" group label (default
	// api-gateway); each value is its own alert group, hence its own ticket.
	Group string
	// Resolved sends the group with every alert resolved.
	Resolved bool
	// Severity, when set, is the severity of every alert (default: one
	// critical and one major alert).
	Severity string
	// Receiver is the Alertmanager receiver name (default coc-bridge).
	Receiver string
	// Now anchors the alerts' times.
	Now time.Time
}

// webhookMessage is the JSON body Alertmanager's webhook integration sends
// (version 4), as in Alertmanager's notify/webhook Message.
type webhookMessage struct {
	*template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// sampleNotification returns a realistic notification as Alertmanager sends
// it: one group (alertname HighErrorRate, service api-gateway) with two
// alerts in two regions at two severities, with annotations, links and
// fingerprints. send-test-alert, demo, check-config and render use it.
func sampleNotification(o sampleOptions) []byte {
	if o.Group == "" {
		o.Group = "api-gateway"
	}
	if o.Receiver == "" {
		o.Receiver = "coc-bridge"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	status := "firing"
	if o.Resolved {
		status = "resolved"
	}
	start := o.Now.Add(-7 * time.Minute).UTC().Truncate(time.Second)
	alert := func(region, severity, instance, rate string, startsAt time.Time) template.Alert {
		if o.Severity != "" {
			severity = o.Severity
		}
		labels := template.KV{
			"alertname": "HighErrorRate", "service": o.Group, "severity": severity,
			"region": region, "instance": instance, "job": o.Group, "env": "prod",
		}
		a := template.Alert{
			Status: status,
			Labels: labels,
			Annotations: template.KV{
				"summary": fmt.Sprintf("5xx error rate of %s in %s is %s", o.Group, region, rate),
				"description": fmt.Sprintf("%s of the requests to %s in %s failed with a 5xx status over the last 5 minutes (threshold 5%%). "+
					"Clients see errors; check the latest deployment and the upstream dependencies.", rate, o.Group, region),
				"runbook_url": "https://runbooks.example.com/" + o.Group + "/high-error-rate",
			},
			StartsAt: startsAt,
			GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=" + url.QueryEscape(
				fmt.Sprintf(`sum by (region) (rate(http_requests_total{job=%q,code=~"5.."}[5m])) / sum by (region) (rate(http_requests_total{job=%q}[5m])) > 0.05`, o.Group, o.Group)) +
				"&g0.tab=1",
			Fingerprint: fingerprint(labels),
		}
		if o.Resolved {
			a.EndsAt = o.Now.UTC().Truncate(time.Second)
		}
		return a
	}
	msg := webhookMessage{
		Data: &template.Data{
			Receiver: o.Receiver,
			Status:   status,
			Alerts: template.Alerts{
				alert("cn-north-4", "critical", "api-gw-0.cn-north-4:8080", "12.4%", start),
				alert("cn-south-1", "major", "api-gw-3.cn-south-1:8080", "6.1%", start.Add(2*time.Minute)),
			},
			GroupLabels:       template.KV{"alertname": "HighErrorRate", "service": o.Group},
			CommonLabels:      template.KV{"alertname": "HighErrorRate", "service": o.Group, "job": o.Group, "env": "prod"},
			CommonAnnotations: template.KV{"runbook_url": "https://runbooks.example.com/" + o.Group + "/high-error-rate"},
			ExternalURL:       "http://alertmanager.example.com:9093",
		},
		Version:  "4",
		GroupKey: fmt.Sprintf(`{}/{env="prod"}:{alertname="HighErrorRate", service=%q}`, o.Group),
	}
	b, err := json.MarshalIndent(msg, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("encode sample notification: %v", err)) // static types: cannot happen
	}
	return b
}

// fingerprint imitates Alertmanager's alert fingerprint: 16 hex digits of
// a hash of the sorted label pairs.
func fingerprint(labels template.KV) string {
	h := fnv.New64a()
	for _, n := range labels.Names() { // sorted
		h.Write([]byte(n + "\xff" + labels[n] + "\xff"))
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// namedSample is a webhook body check-config renders the templates against.
type namedSample struct {
	name string
	body []byte
}

// templateSamples are the notifications check-config renders every template
// against: a template that only works for the two-alert sample (such as
// {{ index .Alerts 1 }}) fails one of them, and every ticket of that shape
// would be dead-lettered.
func templateSamples(now time.Time) []namedSample {
	base := func(o sampleOptions) webhookMessage {
		o.Now = now
		var m webhookMessage
		if err := json.Unmarshal(sampleNotification(o), &m); err != nil {
			panic(fmt.Sprintf("decode the sample notification: %v", err)) // our own encoding: cannot happen
		}
		return m
	}
	encode := func(name string, m webhookMessage) namedSample {
		b, err := json.Marshal(m)
		if err != nil {
			panic(fmt.Sprintf("encode sample %s: %v", name, err)) // static types: cannot happen
		}
		return namedSample{name: name, body: b}
	}
	one := base(sampleOptions{})
	one.Alerts = one.Alerts[:1]

	many := base(sampleOptions{})
	first := many.Alerts[0]
	many.Alerts = nil
	for i := range 60 {
		a := first
		a.Labels = template.KV{}
		maps.Copy(a.Labels, first.Labels)
		a.Labels["instance"] = fmt.Sprintf("api-gw-%d.cn-north-4:8080", i)
		a.Fingerprint = fingerprint(a.Labels)
		many.Alerts = append(many.Alerts, a)
	}

	bare := base(sampleOptions{})
	bare.Alerts = bare.Alerts[:1]
	bare.Alerts[0].Labels = template.KV{"alertname": "HighErrorRate"}
	bare.Alerts[0].Annotations = template.KV{}
	bare.Alerts[0].GeneratorURL = ""
	bare.Alerts[0].Fingerprint = fingerprint(bare.Alerts[0].Labels)
	bare.GroupLabels, bare.CommonLabels, bare.CommonAnnotations = template.KV{}, template.KV{}, template.KV{}
	bare.ExternalURL = ""

	huge := base(sampleOptions{})
	huge.Alerts = huge.Alerts[:1]
	huge.Alerts[0].Labels = template.KV{}
	maps.Copy(huge.Alerts[0].Labels, first.Labels)
	huge.Alerts[0].Labels["instance"] = strings.Repeat("x", 1<<20)
	huge.Alerts[0].Annotations = template.KV{"summary": strings.Repeat("y", 1<<20)}

	return []namedSample{
		{name: "two alerts (the sample above)", body: sampleNotification(sampleOptions{Now: now})},
		encode("one alert", one),
		encode("many alerts (60)", many),
		{name: "resolved", body: sampleNotification(sampleOptions{Now: now, Resolved: true})},
		encode("missing labels and annotations", bare),
		encode("a label and an annotation of 1 MiB each", huge),
	}
}
