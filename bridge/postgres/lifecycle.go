package postgres

import (
	"time"
)

// deadError is the ledger's LastError for a dead-lettered create.
func deadError(code, msg string) string {
	if code == "" {
		return msg
	}
	return code + ": " + msg
}

// utc is t as stored: UTC, truncated to the microsecond (timestamptz's
// precision; pgx truncates the same way).
func utc(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// optUTC is utc for a nullable time.
func optUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}
