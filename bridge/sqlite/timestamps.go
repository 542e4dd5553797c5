package sqlite

import (
	"database/sql"
	"time"
)

// Times are stored as integer microseconds since the epoch, UTC.

// utc is t as stored: UTC, truncated to the microsecond.
func utc(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// micros is t as a stored integer.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is a stored integer as a time.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// optTime is a nullable stored integer as a time.
func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// optMicros is a nullable time as a stored integer.
func optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}
