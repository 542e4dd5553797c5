package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/alertmanager/template"
)

// Alert statuses and message statuses, as Alertmanager writes them.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// supportedVersion is the only webhook payload version Alertmanager sends
// today (notify/webhook).
const supportedVersion = "4"

// Message is the body of an Alertmanager webhook notification, version 4. It
// mirrors the sender's own type (Alertmanager notify/webhook Message): the
// embedded template.Data holds Receiver, Status, Alerts, GroupLabels,
// CommonLabels, CommonAnnotations and ExternalURL.
//
// Receiver always holds the receiver name as configured in Alertmanager.
// Alertmanager sends it escaped with regexp.QuoteMeta (`web\.hook` for
// web.hook); unmarshalling undoes that and marshalling escapes it again, so
// json.Marshal(msg) is the body Alertmanager sent and Decode of it gives an
// equal Message.
type Message struct {
	*template.Data

	// Version is the payload version; only "4" is accepted.
	Version string `json:"version"`
	// GroupKey is Alertmanager's key of the alert group (route and group
	// labels), for example `{}/{env="prod"}:{alertname="HighErrorRate"}`.
	GroupKey string `json:"groupKey"`
	// TruncatedAlerts is how many alerts Alertmanager left out of the body
	// because of the receiver's max_alerts.
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// wireMessage has Message's fields but not its JSON methods.
type wireMessage Message

// InputError reports a webhook body that cannot be accepted: not JSON, the
// wrong version, or missing or invalid fields. The bridge answers it with
// 400; Reason is short and meant for the sender.
type InputError struct {
	Reason string
}

// Error returns the reason.
func (e *InputError) Error() string { return e.Reason }

func inputErrorf(format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}

// Decode parses and validates a webhook body. Unknown fields are ignored, as
// Alertmanager adds fields across releases. Missing label and annotation maps
// become empty ones. A firing notification whose alerts are all resolved
// becomes a resolved one: Alertmanager computes the notification's status a
// moment before the alerts' own, so an alert that ends in between arrives
// like that, and no ticket should be opened for alerts that have all ended.
// Every error is an *InputError.
func Decode(body []byte) (*Message, error) {
	var m Message
	// Decoding into the wire type directly scans the body once; UnmarshalJSON
	// would have it scanned twice.
	if err := json.Unmarshal(body, (*wireMessage)(&m)); err != nil {
		return nil, &InputError{Reason: "invalid JSON: " + jsonReason(err)}
	}
	m.normalize()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// UnmarshalJSON decodes the body and normalizes it as Decode does (receiver
// unescaped, nil maps made empty, status of all-resolved alerts), without
// validating it.
func (m *Message) UnmarshalJSON(b []byte) error {
	var w Message
	if err := json.Unmarshal(b, (*wireMessage)(&w)); err != nil {
		return err
	}
	w.normalize()
	*m = w
	return nil
}

// normalize undoes the receiver's escaping (and replaces a NUL in it by
// U+FFFD: no store keeps NULs in text), makes a firing notification of
// resolved alerts a resolved one, and replaces nil maps by empty ones.
func (m *Message) normalize() {
	if m.Data == nil {
		m.Data = &template.Data{}
	}
	m.Receiver = strings.ReplaceAll(UnescapeReceiver(m.Receiver), "\x00", "\uFFFD")
	if m.Status == StatusFiring && len(m.Alerts) > 0 && !slices.ContainsFunc(m.Alerts, func(a template.Alert) bool {
		return a.Status != StatusResolved
	}) {
		m.Status = StatusResolved
	}
	m.GroupLabels = nonNilKV(m.GroupLabels)
	m.CommonLabels = nonNilKV(m.CommonLabels)
	m.CommonAnnotations = nonNilKV(m.CommonAnnotations)
	for i := range m.Alerts {
		m.Alerts[i].Labels = nonNilKV(m.Alerts[i].Labels)
		m.Alerts[i].Annotations = nonNilKV(m.Alerts[i].Annotations)
	}
}

// MarshalJSON encodes the message as Alertmanager sends it, with the
// receiver name escaped by regexp.QuoteMeta.
func (m Message) MarshalJSON() ([]byte, error) {
	w := wireMessage(m)
	if w.Data != nil {
		d := *w.Data
		d.Receiver = regexp.QuoteMeta(d.Receiver)
		w.Data = &d
	}
	return json.Marshal(w)
}

// Validate checks what the mapping relies on: version "4", a receiver, a
// status of firing or resolved, and at least one alert, each firing or
// resolved, none firing in a resolved notification. A firing notification
// whose alerts are all resolved is accepted (see Decode). Alerts without
// labels or without a start time are accepted. Every error is an
// *InputError.
func (m *Message) Validate() error {
	switch {
	case m.Version == "":
		return inputErrorf("missing version: want %q", supportedVersion)
	case m.Version != supportedVersion:
		return inputErrorf("unsupported version %q: want %q", m.Version, supportedVersion)
	case m.Data == nil || m.Receiver == "":
		return inputErrorf("missing receiver")
	case m.Status == "":
		return inputErrorf("missing status: want firing or resolved")
	case m.Status != StatusFiring && m.Status != StatusResolved:
		return inputErrorf("invalid status %q: want firing or resolved", m.Status)
	case len(m.Alerts) == 0:
		return inputErrorf("no alerts")
	}
	firing := 0
	for i, a := range m.Alerts {
		switch a.Status {
		case StatusFiring:
			firing++
		case StatusResolved:
		case "":
			return inputErrorf("alerts[%d]: missing status: want firing or resolved", i)
		default:
			return inputErrorf("alerts[%d]: invalid status %q: want firing or resolved", i, a.Status)
		}
	}
	if m.Status == StatusResolved && firing > 0 {
		return inputErrorf("status is resolved but %d of %d alerts are firing", firing, len(m.Alerts))
	}
	return nil
}

// Firing reports whether the notification's status is firing (at least one
// of its alerts fires).
func (m *Message) Firing() bool {
	return m.Data != nil && m.Status == StatusFiring
}

// regexpMeta are the characters regexp.QuoteMeta escapes with a backslash.
const regexpMeta = `\.+*?()|[]{}^$`

// UnescapeReceiver undoes regexp.QuoteMeta, which Alertmanager applies to the
// receiver name it sends (`web\.hook` becomes web.hook): a backslash before
// one of \.+*?()|[]{}^$ is removed. Other backslashes are kept, so a name
// that was never escaped comes back unchanged.
func UnescapeReceiver(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(regexpMeta, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func nonNilKV(kv template.KV) template.KV {
	if kv == nil {
		return template.KV{}
	}
	return kv
}

// jsonReason turns a decoding error into a message that names JSON fields
// and kinds rather than Go types.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Fields of the embedded template.Data are reported under "Data.".
		field := strings.TrimPrefix(te.Field, "Data.")
		if field == "" {
			field = "the body"
		} else {
			field = fmt.Sprintf("field %q", field)
		}
		return fmt.Sprintf("%s must be %s, not %s", field, jsonKind(te.Type), te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}
