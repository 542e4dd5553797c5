package mapping

import (
	"testing"

	"github.com/prometheus/alertmanager/template"
)

// keyMessage is a notification of one group with the given group labels.
func keyMessage(receiver string, groupLabels template.KV, alerts ...template.Alert) *Message {
	if len(alerts) == 0 {
		alerts = template.Alerts{{Status: StatusFiring, Labels: template.KV{"alertname": "HighErrorRate"}, Fingerprint: "0123456789abcdef"}}
	}
	return &Message{
		Data: &template.Data{
			Receiver: receiver, Status: StatusFiring, Alerts: alerts, GroupLabels: groupLabels,
			CommonLabels: template.KV{}, CommonAnnotations: template.KV{},
		},
		Version:  "4",
		GroupKey: `{}/{env="prod"}:{alertname="HighErrorRate"}`,
	}
}

func keyOf(t *testing.T, mode KeyMode, instance string, msg *Message) string {
	t.Helper()
	cfg := testConfig()
	cfg.DedupeBy, cfg.Instance = mode, instance
	return mustMapper(t, cfg).Key(msg)
}

// The keys are a contract: they are stored and sent to COC as source_id, so
// an open ticket is found again only if the key of its group never changes.
// These values were computed independently from the documented encoding. A
// failure here means the key changed: do not update the values, bump
// keyVersion and plan the migration instead.
func TestKeyPinned(t *testing.T) {
	t.Parallel()
	group := template.KV{"alertname": "HighErrorRate", "service": "api-gateway"}
	noFingerprint := template.Alert{Status: StatusFiring, Labels: template.KV{"alertname": "NodeDown", "instance": "node-1:9100"}}
	cases := []struct {
		name string
		mode KeyMode
		msg  *Message
		want string
	}{
		{"group", KeyByGroup, keyMessage("web.hook", group), "5861aa5007494b97b44fdc6e1a34f1e04dff9a26f14f075d99fb334a83009de0"},
		{"group without labels", KeyByGroup, keyMessage("web.hook", template.KV{}), "979ed4af6e3f558fc4d594db1c7527a56c157cb0cb353e25753d897aa443f038"},
		{"group with NUL in a value", KeyByGroup, keyMessage("web.hook", template.KV{"a": "x\x00b"}), "4fa59dd2959b606c75512fc6c527feacc4308e533103c2ff5f21c38a396b6c5b"},
		{"group that could collide with NUL", KeyByGroup, keyMessage("web.hook", template.KV{"a": "x", "b": ""}), "1530e7887bc521bc0d2b4f0a05c3457f9142b085df4302cc41baf374c2e63d27"},
		{"alert", KeyByAlert, keyMessage("web.hook", group), "c40faaadab2b3dcd494c92d19cb5b1b2d45a69d41d4f9fd9563c376ac95b398f"},
		{"alert without fingerprint", KeyByAlert, keyMessage("web.hook", group, noFingerprint), "3102ddc9fd40a1faca00dcb05b8751835054e585bb8c7eb686176699666045c7"},
		{"groupkey", KeyByGroupKey, keyMessage("web.hook", group), "80200586fdc5413968b8237f7d3fb13a3d93a4772013c8fdc1f2aa0d761998bf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := keyOf(t, tc.mode, "prod", tc.msg); got != tc.want {
				t.Errorf("key = %s, pinned %s", got, tc.want)
			}
		})
	}
}

// An alert without a fingerprint gets Alertmanager's own fingerprint of its
// labels, so its key equals the key of the same alert with one.
func TestKeyComputedFingerprint(t *testing.T) {
	t.Parallel()
	labels := template.KV{"alertname": "NodeDown", "instance": "node-1:9100"}
	without := keyMessage("r", nil, template.Alert{Status: StatusFiring, Labels: labels})
	with := keyMessage("r", nil, template.Alert{Status: StatusFiring, Labels: labels, Fingerprint: "c848e40a5c185977"})
	if a, b := keyOf(t, KeyByAlert, "prod", without), keyOf(t, KeyByAlert, "prod", with); a != b {
		t.Errorf("computed fingerprint key %s != sent fingerprint key %s", a, b)
	}
}

func TestKeyProperties(t *testing.T) {
	t.Parallel()
	labels := template.KV{"alertname": "A", "service": "s", "env": "prod"}
	base := keyOf(t, KeyByGroup, "prod", keyMessage("web.hook", labels))
	cases := []struct {
		name  string
		key   string
		equal bool
	}{
		{"same labels, other order", keyOf(t, KeyByGroup, "prod", keyMessage("web.hook", template.KV{"env": "prod", "service": "s", "alertname": "A"})), true},
		{"other alerts in the group", keyOf(t, KeyByGroup, "prod", keyMessage("web.hook", labels,
			template.Alert{Status: StatusFiring, Labels: template.KV{"x": "y"}, Fingerprint: "ffff"})), true},
		{"other instance", keyOf(t, KeyByGroup, "test", keyMessage("web.hook", labels)), false},
		{"other receiver", keyOf(t, KeyByGroup, "prod", keyMessage("web.hook2", labels)), false},
		{"other label value", keyOf(t, KeyByGroup, "prod", keyMessage("web.hook", template.KV{"alertname": "A", "service": "t", "env": "prod"})), false},
		{"one label less", keyOf(t, KeyByGroup, "prod", keyMessage("web.hook", template.KV{"alertname": "A", "service": "s"})), false},
		{"other mode", keyOf(t, KeyByGroupKey, "prod", keyMessage("web.hook", labels)), false},
		// name/value boundaries are part of the encoding.
		{"shifted boundary", keyOf(t, KeyByGroup, "prod", keyMessage("web.hook", template.KV{"alertnameA": "", "service": "s", "env": "prod"})), false},
		{"instance/receiver boundary", keyOf(t, KeyByGroup, "prodweb.hook", keyMessage("", labels)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if (tc.key == base) != tc.equal {
				t.Errorf("key %s vs %s: want equal=%v", tc.key, base, tc.equal)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	msg := testMessage("r",
		alertSpec{severity: "critical", region: "a"},
		alertSpec{status: StatusResolved, severity: "minor", region: "b"},
		alertSpec{severity: "warning"})
	msg.TruncatedAlerts = 3

	group := mustMapper(t, testConfig())
	if parts := group.Split(msg); len(parts) != 1 || parts[0] != msg {
		t.Errorf("group mode: %d parts, want the message itself", len(parts))
	}

	cfg := testConfig()
	cfg.DedupeBy = KeyByAlert
	m := mustMapper(t, cfg)
	parts := m.Split(msg)
	if len(parts) != 3 {
		t.Fatalf("alert mode: %d parts, want 3", len(parts))
	}
	keys := map[string]bool{}
	for i, p := range parts {
		a := msg.Alerts[i]
		if len(p.Alerts) != 1 || p.Alerts[0].Fingerprint != a.Fingerprint {
			t.Errorf("part %d alerts %+v", i, p.Alerts)
		}
		if p.Status != a.Status || p.Receiver != "r" || p.GroupKey != msg.GroupKey || p.Version != "4" ||
			p.ExternalURL != msg.ExternalURL || p.GroupLabels["alertname"] != "Test" || p.TruncatedAlerts != 0 {
			t.Errorf("part %d: %+v %+v", i, p, p.Data)
		}
		if p.CommonLabels["instance"] != a.Labels["instance"] {
			t.Errorf("part %d common labels %v", i, p.CommonLabels)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("part %d invalid: %v", i, err)
		}
		keys[m.Key(p)] = true
	}
	if len(keys) != 3 {
		t.Errorf("%d distinct keys, want 3", len(keys))
	}
	if len(m.Split(&Message{})) != 1 {
		t.Error("a message without data must come back as is")
	}
}
