package ledger

import (
	"errors"
	"strings"
	"testing"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func TestResult(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	if err := Result("release", "ISU1", "k", 1, nil); err != nil {
		t.Errorf("one row changed: %v, want nil", err)
	}
	if err := Result("record check of", "ISU1", "k", 0, nil); !errors.Is(err, bridge.ErrNotFound) ||
		!strings.HasPrefix(err.Error(), "record check of ticket ISU1 of key k: no open entry with that ticket: ") {
		t.Errorf("no row changed: %v, want ErrNotFound naming ticket and key", err)
	}
	// A failed write is reported as such: nothing was found or not.
	if err := Result("release", "ISU1", "k", 0, boom); !errors.Is(err, boom) || errors.Is(err, bridge.ErrNotFound) ||
		err.Error() != "release ticket ISU1 of key k: disk full" {
		t.Errorf("failed write: %v, want the write's error only", err)
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, labels := range []map[string]string{nil, {}, {"alertname": "DiskFull", "q": "a\"b\x00c"}} {
		text := Labels(labels)
		back, err := ParseLabels(text)
		if err != nil || len(back) != len(labels) {
			t.Fatalf("Labels(%v) = %q, parsed back as %v, %v", labels, text, back, err)
		}
		for k, v := range labels {
			if back[k] != v {
				t.Errorf("label %s: %q, want %q", k, back[k], v)
			}
		}
		if strings.ContainsRune(text, 0) {
			t.Errorf("Labels(%v) = %q holds a NUL", labels, text)
		}
	}
	if _, err := ParseLabels("{"); err == nil {
		t.Error("ParseLabels of broken JSON succeeded")
	}
}
