package bench

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Message is an Alertmanager webhook notification (version 4), as
// Alertmanager's webhook notifier sends it.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// GroupToken names group i inside its labels; tickets are matched back to
// their group by finding it in the description.
func GroupToken(i int) string { return fmt.Sprintf("bgrp-%06d", i) }

var groupTokenRE = regexp.MustCompile(`bgrp-(\d{6})`)

// GroupOf returns the group index named in s, or -1.
func GroupOf(s string) int {
	m := groupTokenRE.FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return n
}

var severities = []string{"critical", "major", "warning", "minor", "info"}
var regions = []string{"cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-3"}

// Body renders the firing notification of group i with n alerts.
func Body(i, n int, start time.Time) []byte {
	token := GroupToken(i)
	cluster := fmt.Sprintf("prod-%02d", i%7)
	m := Message{
		Version:      "4",
		GroupKey:     fmt.Sprintf(`{}/{severity=~"^(?:critical|major|warning|minor|info)$"}:{alertname="KubePodCrashLooping", cluster=%q, group_id=%q}`, cluster, token),
		Status:       "firing",
		Receiver:     "coc-bridge",
		GroupLabels:  map[string]string{"alertname": "KubePodCrashLooping", "cluster": cluster, "group_id": token},
		CommonLabels: map[string]string{"alertname": "KubePodCrashLooping", "cluster": cluster, "group_id": token, "job": "kube-state-metrics"},
		ExternalURL:  "http://alertmanager-0.monitoring.svc:9093",
		CommonAnnotations: map[string]string{
			"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
		},
	}
	for a := range n {
		pod := fmt.Sprintf("checkout-%s-%d-7d9f8c6b5-x%03d", token, a, a)
		m.Alerts = append(m.Alerts, Alert{
			Status: "firing",
			Labels: map[string]string{
				"alertname": "KubePodCrashLooping", "cluster": cluster, "group_id": token,
				"namespace": "shop", "pod": pod, "container": "checkout",
				"instance": fmt.Sprintf("10.12.%d.%d:8080", i%250, a+10), "job": "kube-state-metrics",
				"severity": severities[(i+a)%len(severities)], "region": regions[(i+a)%len(regions)],
				"prometheus": "monitoring/k8s",
			},
			Annotations: map[string]string{
				"summary":     "Pod is crash looping.",
				"description": fmt.Sprintf("Pod shop/%s (checkout) is in waiting state (reason: \"CrashLoopBackOff\") on cluster %s.", pod, cluster),
				"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
			},
			StartsAt:     start.Add(time.Duration(a) * time.Second),
			EndsAt:       time.Time{},
			GeneratorURL: "http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1",
			Fingerprint:  fmt.Sprintf("%016x", uint64(i)<<20|uint64(a)),
		})
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // static types: cannot fail
	}
	return b
}

// Bodies renders groups [from, from+count) with n alerts each.
func Bodies(from, count, n int) [][]byte {
	start := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	out := make([][]byte, count)
	for k := range count {
		out[k] = Body(from+k, n, start)
	}
	return out
}
