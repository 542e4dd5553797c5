package postgres

import (
	"time"
)

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
