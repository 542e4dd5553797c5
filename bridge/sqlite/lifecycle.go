package sqlite

import (
	"time"
)

// utc is t as stored: UTC, truncated to the microsecond.
func utc(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// micros is t as a stored integer.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is a stored integer as a time.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }
