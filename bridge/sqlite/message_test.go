package sqlite

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// TestMessagesStoredCompressed: a notification is stored as an S2 block, a
// fraction of its size, and a claim hands back the notification as it came;
// rows stored as received (before migration 0005) are read as they are, and
// one of an unknown encoding is handed over without a message while the
// others of the claim go on.
func TestMessagesStoredCompressed(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	body := []byte(`{"version":"4","status":"firing","alerts":[` +
		strings.Repeat(`{"status":"firing","labels":{"alertname":"DiskAlmostFull","instance":"node-17:9100"}},`, 60) + `{}]}`)
	for i, key := range []string{"packed", "raw", "odd"} {
		if _, err := s.Accept(ctx, bridge.Notification{Key: key, Receiver: "r", Firing: true, Message: body,
			ReceivedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	var size int
	var enc string
	if err := s.rdb.QueryRowContext(ctx, `SELECT length(m.message), m.encoding FROM outbox_message m
		JOIN outbox o ON o.id = m.id WHERE o.key = 'packed'`).Scan(&size, &enc); err != nil {
		t.Fatal(err)
	}
	if enc != encodingS2 || size*3 > len(body) {
		t.Fatalf("stored %d bytes as %q, want an s2 block under a third of %d bytes", size, enc, len(body))
	}
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox_message SET message = ?, encoding = ''
			WHERE id = (SELECT id FROM outbox WHERE key = 'raw')`, body); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox_message SET encoding = 'zz'
			WHERE id = (SELECT id FROM outbox WHERE key = 'odd')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, bridge.ClaimRequest{Owner: "w", Limit: 10, Lease: time.Minute, Now: t0.Add(time.Minute)})
	if err != nil || len(got) != 3 {
		t.Fatalf("claim: %d items, %v; want 3", len(got), err)
	}
	for _, d := range got {
		want := body
		if d.Key == "odd" {
			want = nil
		}
		if !bytes.Equal(d.Message, want) {
			t.Errorf("%s: claimed message of %d bytes, want %d", d.Key, len(d.Message), len(want))
		}
	}
}

func TestUnpackMessage(t *testing.T) {
	msg := []byte(strings.Repeat("abc", 1000))
	blob, enc := packMessage(msg)
	if got, err := unpackMessage(blob, enc); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	if blob, enc := packMessage(nil); len(blob) != 0 || blob == nil || enc != "" {
		t.Fatalf("empty message stored as %v %q, want an empty blob as received", blob, enc)
	}
	for _, tc := range []struct{ blob, enc string }{{"\xff\xff", encodingS2}, {"{}", "gzip"}} {
		if _, err := unpackMessage([]byte(tc.blob), tc.enc); err == nil {
			t.Errorf("unpack %q as %q: no error", tc.blob, tc.enc)
		}
	}
}
