package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// validBody is a minimal valid webhook body; bad inputs below edit it.
const validBody = `{"version":"4","groupKey":"{}:{alertname=\"A\"}","status":"firing","receiver":"web\\.hook",
"groupLabels":{"alertname":"A"},"commonLabels":{"alertname":"A"},"commonAnnotations":{},"externalURL":"http://am:9093",
"alerts":[{"status":"firing","labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-11-23T10:00:00Z",
"endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"0123456789abcdef"}]}`

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
	}{
		{"empty body", ``, `invalid JSON: unexpected end of JSON input`},
		{"not JSON", `{nope`, `invalid JSON: invalid character 'n' looking for beginning of object key string`},
		{"trailing garbage", validBody + `x`, `invalid JSON: invalid character 'x' after top-level value`},
		{"array", `[]`, `invalid JSON: the body must be an object, not array`},
		{"alerts not a list", `{"version":"4","alerts":{}}`, `invalid JSON: field "alerts" must be an array, not object`},
		{"status a number", `{"version":"4","status":1}`, `invalid JSON: field "status" must be a string, not number`},
		{"negative truncatedAlerts", `{"version":"4","truncatedAlerts":-1}`, `invalid JSON: field "truncatedAlerts" must be a non-negative integer, not number -1`},
		{"label value a number", `{"version":"4","alerts":[{"labels":{"a":1}}]}`, `invalid JSON: field "alerts.labels" must be a string, not number`},
		{"bad time", `{"version":"4","alerts":[{"startsAt":"yesterday"}]}`, `invalid JSON: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{"null", `null`, `missing version: want "4"`},
		{"empty object", `{}`, `missing version: want "4"`},
		{"version 3", strings.Replace(validBody, `"version":"4"`, `"version":"3"`, 1), `unsupported version "3": want "4"`},
		{"version a number", strings.Replace(validBody, `"version":"4"`, `"version":4`, 1), `invalid JSON: field "version" must be a string, not number`},
		{"no receiver", strings.Replace(validBody, `"receiver":"web\\.hook"`, `"receiver":""`, 1), `missing receiver`},
		{"no status", strings.Replace(validBody, `"status":"firing","receiver"`, `"receiver"`, 1), `missing status: want firing or resolved`},
		{"bad status", strings.Replace(validBody, `"status":"firing","receiver"`, `"status":"FIRING","receiver"`, 1), `invalid status "FIRING": want firing or resolved`},
		{"no alerts", `{"version":"4","status":"firing","receiver":"r","alerts":[]}`, `no alerts`},
		{"alerts null", `{"version":"4","status":"firing","receiver":"r","alerts":null}`, `no alerts`},
		{"bad alert status", `{"version":"4","status":"firing","receiver":"r","alerts":[{"status":"firing"},{"status":"foo"}]}`, `alerts[1]: invalid status "foo": want firing or resolved`},
		{"missing alert status", `{"version":"4","status":"firing","receiver":"r","alerts":[{"status":"firing"},{}]}`, `alerts[1]: missing status: want firing or resolved`},
		{"resolved with a firing alert", `{"version":"4","status":"resolved","receiver":"r","alerts":[{"status":"resolved"},{"status":"firing"}]}`, `status is resolved but 1 of 2 alerts are firing`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, err := Decode([]byte(tc.body))
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", msg)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("error %T is not an *InputError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestDecodeTolerant(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		check      func(t *testing.T, m *Message)
	}{
		{"unknown fields", strings.Replace(validBody, `"version":"4"`,
			`"version":"4","notification_reason":"repeat_interval","routeLabels":{"team":"x"},"future":[1,{"a":null}]`, 1),
			func(t *testing.T, m *Message) {}},
		{"case-insensitive keys", strings.Replace(validBody, `"receiver"`, `"Receiver"`, 1),
			func(t *testing.T, m *Message) {
				if m.Receiver != "web.hook" {
					t.Errorf("receiver %q", m.Receiver)
				}
			}},
		{"nil maps become empty", `{"version":"4","status":"firing","receiver":"r","alerts":[{"status":"firing","labels":null}]}`,
			func(t *testing.T, m *Message) {
				if m.GroupLabels == nil || m.CommonLabels == nil || m.CommonAnnotations == nil ||
					m.Alerts[0].Labels == nil || m.Alerts[0].Annotations == nil {
					t.Errorf("nil map left: %+v", m.Data)
				}
			}},
		{"firing with every alert resolved becomes resolved", `{"version":"4","status":"firing","receiver":"r","alerts":[{"status":"resolved"},{"status":"resolved"}]}`,
			func(t *testing.T, m *Message) {
				if m.Status != StatusResolved || m.Firing() {
					t.Errorf("status %q", m.Status)
				}
			}},
		{"zero startsAt", strings.Replace(validBody, `"startsAt":"2026-11-23T10:00:00Z"`, `"startsAt":"0001-01-01T00:00:00Z"`, 1),
			func(t *testing.T, m *Message) {
				if !m.Alerts[0].StartsAt.IsZero() {
					t.Errorf("startsAt %v", m.Alerts[0].StartsAt)
				}
			}},
		{"invalid UTF-8 replaced", strings.Replace(validBody, `"alertname":"A"}`, "\"alertname\":\"A\xff\"}", 1),
			func(t *testing.T, m *Message) {
				if got := m.GroupLabels["alertname"]; got != "A\uFFFD" {
					t.Errorf("alertname %q", got)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := Decode([]byte(tc.body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tc.check(t, m)
		})
	}
}

func TestUnescapeReceiver(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{`web\.hook`, `web.hook`},
		{`a\+b`, `a+b`},
		{`coc-bridge`, `coc-bridge`},
		{`plain name`, `plain name`},
		{`运维\.告警`, `运维.告警`},
		{`\.\+\*\?\(\)\|\[\]\{\}\^\$\\`, `.+*?()|[]{}^$\`},
		{`a\b`, `a\b`},             // not produced by QuoteMeta: kept
		{`trailing\`, `trailing\`}, // a lone trailing backslash: kept
		{`a\\.b`, `a\.b`},          // escaped backslash, then a dot
		{``, ``},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := UnescapeReceiver(tc.in); got != tc.want {
				t.Errorf("UnescapeReceiver(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	// It is the inverse of what Alertmanager applies.
	for _, name := range []string{`web.hook`, `a+b`, `x\y`, `a\.b`, `(team)|[ops]{1}^$?*`, `运维-告警`} {
		if got := UnescapeReceiver(regexp.QuoteMeta(name)); got != name {
			t.Errorf("UnescapeReceiver(QuoteMeta(%q)) = %q", name, got)
		}
	}
}

// json.Marshal of a decoded message is the body Alertmanager sends, and
// decodes to the same message: the bridge stores it and decodes it again at
// delivery, so the key must not change on the way.
func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	bodies := map[string][]byte{"minimal": []byte(validBody)}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = b
	}
	for _, mode := range []KeyMode{KeyByGroup, KeyByAlert, KeyByGroupKey} {
		cfg := testConfig()
		cfg.DedupeBy = mode
		m := mustMapper(t, cfg)
		for name, body := range bodies {
			t.Run(string(mode)+"/"+name, func(t *testing.T) {
				t.Parallel()
				msg, err := Decode(body)
				if err != nil {
					t.Fatal(err)
				}
				for _, part := range m.Split(msg) {
					raw, err := json.Marshal(part)
					if err != nil {
						t.Fatal(err)
					}
					again, err := Decode(raw)
					if err != nil {
						t.Fatalf("Decode(Marshal(msg)): %v\n%s", err, raw)
					}
					if again.Receiver != part.Receiver {
						t.Errorf("receiver %q became %q", part.Receiver, again.Receiver)
					}
					if m.Key(again) != m.Key(part) {
						t.Errorf("key changed through storage")
					}
					raw2, err := json.Marshal(again)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(raw, raw2) {
						t.Errorf("re-encoding differs:\n%s\n%s", raw, raw2)
					}
				}
			})
		}
	}
}

// The stored form escapes the receiver as Alertmanager does.
func TestMarshalEscapesReceiver(t *testing.T) {
	t.Parallel()
	msg, err := Decode([]byte(validBody))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Receiver != "web.hook" {
		t.Fatalf("receiver %q", msg.Receiver)
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"receiver":"web\\.hook"`)) {
		t.Errorf("stored form lacks the escaped receiver: %s", raw)
	}
	if msg.Receiver != "web.hook" {
		t.Errorf("Marshal changed the message: %q", msg.Receiver)
	}
	var nilMsg *Message
	if raw, err := json.Marshal(nilMsg); err != nil || string(raw) != "null" {
		t.Errorf("nil message: %s, %v", raw, err)
	}
	if raw, err := json.Marshal(Message{Version: "4"}); err != nil || !bytes.Contains(raw, []byte(`"version":"4"`)) {
		t.Errorf("message without data: %s, %v", raw, err)
	}
}

func TestFiring(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		msg  *Message
		want bool
	}{
		{"nil data", &Message{}, false},
		{"firing", msgWith(StatusFiring), true},
		{"resolved", msgWith(StatusResolved), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.msg.Firing(); got != tc.want {
				t.Errorf("Firing() = %v", got)
			}
		})
	}
}
