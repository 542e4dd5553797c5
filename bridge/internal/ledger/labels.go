package ledger

import (
	"encoding/json"
	"fmt"
)

// Labels is the stored text of a ledger entry's group labels: their JSON
// object, or "" for none (nil or empty), in both engines' group_labels
// column. Invalid UTF-8 becomes U+FFFD and a NUL is escaped, so the text
// is storable by every engine.
func Labels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	b, _ := json.Marshal(labels) // a map of strings always encodes
	return string(b)
}

// ParseLabels reads what Labels stored ("" is nil).
func ParseLabels(text string) (map[string]string, error) {
	if text == "" {
		return nil, nil
	}
	var labels map[string]string
	if err := json.Unmarshal([]byte(text), &labels); err != nil {
		return nil, fmt.Errorf("decode group labels: %w", err)
	}
	return labels, nil
}
