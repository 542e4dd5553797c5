package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// KeyMode says what one issue key, hence one open ticket, stands for.
type KeyMode string

// The key modes.
const (
	// KeyByGroup keys by the alert group: the sorted group labels. One
	// ticket per alert group (the default).
	KeyByGroup KeyMode = "group"
	// KeyByAlert keys by the alert fingerprint: one ticket per alert. A
	// notification is split into one Message per alert (Mapper.Split).
	KeyByAlert KeyMode = "alert"
	// KeyByGroupKey keys by Alertmanager's raw groupKey string, for parity
	// with Alertmanager's own integrations (the group key also holds the
	// route, so two routes grouping the same labels give two keys).
	KeyByGroupKey KeyMode = "groupkey"
)

// keyVersion starts every key's input. Changing the encoding below means a
// new version string: keys are stored and sent to COC as source_id, so a
// silent change would open a second ticket for every open alert group.
const keyVersion = "coc-bridge/v1"

// Key returns the message's issue key: the lower-case hex sha256 of
//
//	"coc-bridge/v1" 0x00 mode 0x00 instance 0x00 receiver 0x00 <part>
//
// where <part> depends on the mode:
//
//   - group: for each group label sorted by name, name 0x00 value 0x00;
//   - alert: the first alert's fingerprint 0x00 (Split gives one alert per
//     Message); an alert without a fingerprint gets Alertmanager's own
//     fingerprint of its labels (FNV-64a of the sorted label pairs, 16 hex
//     digits), so the key is the same either way;
//   - groupkey: the raw groupKey 0x00.
//
// The receiver is the unescaped name. Inside each string, 0x00 is written as
// 0x01 0x01 and 0x01 as 0x01 0x02, so the encoding is unambiguous for any
// input; strings without those bytes (all real ones) are written as they are.
// The key is deterministic across replicas and restarts and must never change
// for a given input; tests pin its values.
func (m *Mapper) Key(msg *Message) string {
	return computeKey(m.cfg.DedupeBy, m.cfg.Instance, msg)
}

func computeKey(mode KeyMode, instance string, msg *Message) string {
	var data template.Data
	if msg.Data != nil {
		data = *msg.Data
	}
	buf := make([]byte, 0, 256)
	buf = appendKeyField(buf, keyVersion)
	buf = appendKeyField(buf, string(mode))
	buf = appendKeyField(buf, instance)
	buf = appendKeyField(buf, data.Receiver)
	switch mode {
	case KeyByAlert:
		fp := ""
		if len(data.Alerts) > 0 {
			fp = alertFingerprint(data.Alerts[0])
		}
		buf = appendKeyField(buf, fp)
	case KeyByGroupKey:
		buf = appendKeyField(buf, msg.GroupKey)
	default:
		names := make([]string, 0, len(data.GroupLabels))
		for n := range data.GroupLabels {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			buf = appendKeyField(buf, n)
			buf = appendKeyField(buf, data.GroupLabels[n])
		}
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

// appendKeyField appends s, escaped, and its 0x00 terminator.
func appendKeyField(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0x00:
			buf = append(buf, 0x01, 0x01)
		case 0x01:
			buf = append(buf, 0x01, 0x02)
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, 0x00)
}

// alertFingerprint returns the alert's fingerprint as Alertmanager sends
// it, or computes Alertmanager's fingerprint of its labels when it is empty.
func alertFingerprint(a template.Alert) string {
	if a.Fingerprint != "" {
		return a.Fingerprint
	}
	ls := make(model.LabelSet, len(a.Labels))
	for k, v := range a.Labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// Split returns the messages that each get their own key. In alert mode
// that is one Message per alert: the alert alone, its status as the
// message's status, its labels and annotations as the common ones, the
// group labels, group key, receiver and external URL copied, and
// TruncatedAlerts zero (the alerts Alertmanager left out are not known, so no
// part can claim them). In the other modes it is the message itself.
func (m *Mapper) Split(msg *Message) []*Message {
	if m.cfg.DedupeBy != KeyByAlert || msg.Data == nil || len(msg.Alerts) == 0 {
		return []*Message{msg}
	}
	parts := make([]*Message, 0, len(msg.Alerts))
	for _, a := range msg.Alerts {
		parts = append(parts, splitPart(msg, a))
	}
	return parts
}

func splitPart(msg *Message, a template.Alert) *Message {
	d := &template.Data{
		Receiver:          msg.Receiver,
		Status:            a.Status,
		Alerts:            template.Alerts{a},
		GroupLabels:       msg.GroupLabels,
		CommonLabels:      a.Labels,
		CommonAnnotations: a.Annotations,
		ExternalURL:       msg.ExternalURL,
	}
	return &Message{Data: d, Version: msg.Version, GroupKey: msg.GroupKey}
}
