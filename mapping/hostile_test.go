package mapping

import (
	"strings"
	"testing"
)

// What the decoder does with hostile bodies, which the bridge relies on:
// the last of duplicate keys wins, invalid UTF-8 becomes U+FFFD, a NUL in
// the receiver becomes U+FFFD (stores keep the receiver as text), nesting
// deeper than 10,000 is an input error.
func TestDecodeHostileBodies(t *testing.T) {
	t.Parallel()
	msg, err := Decode([]byte(`{"version":"4","receiver":"a","receiver":"b","status":"firing",` +
		`"alerts":[{"status":"firing","labels":{"k":"1","k":"2"}}]}`))
	if err != nil || msg.Receiver != "b" || msg.Alerts[0].Labels["k"] != "2" {
		t.Errorf("duplicate keys: %+v, %v; want the last values", msg, err)
	}
	msg, err = Decode([]byte("{\"version\":\"4\",\"receiver\":\"r\\u0000\xff\",\"status\":\"firing\"," +
		"\"alerts\":[{\"status\":\"firing\",\"labels\":{\"k\xfe\":\"v\\u0000\"}}]}"))
	if err != nil || msg.Receiver != "r\uFFFD\uFFFD" || msg.Alerts[0].Labels["k\uFFFD"] != "v\x00" {
		t.Errorf("NUL and invalid UTF-8: %+v, %v", msg, err)
	}
	_, err = Decode([]byte(`{"version":"4","extra":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`))
	if _, ok := err.(*InputError); !ok || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Errorf("deep nesting: %v", err)
	}
}

// Rendered texts never carry a NUL, whatever the labels hold.
func TestRenderedTextHasNoNUL(t *testing.T) {
	t.Parallel()
	msg := testMessage("r", alertSpec{labels: map[string]string{"nul": "a\x00b"}})
	msg.GroupLabels["nul"] = "a\x00b"
	tk, err := mustMapper(t, testConfig()).Map(msg, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tk.Title+tk.Description, "\x00") || !strings.Contains(tk.Description, "a\uFFFDb") {
		t.Errorf("title %q, description %q", tk.Title, tk.Description)
	}
}
