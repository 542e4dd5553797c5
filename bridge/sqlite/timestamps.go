package sqlite

import (
	"database/sql"
	"errors"
	"time"
)

// Times are stored as integer microseconds since the epoch, UTC.

// utc is t as stored: UTC, truncated to the microsecond.
func utc(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// micros is t as a stored integer.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is a stored integer as a time.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// stamps stores times as integer microseconds (columns.Times).
type stamps struct{}

func (stamps) Dest(t *time.Time) any     { return microsDest{t} }
func (stamps) OptDest(t **time.Time) any { return optMicrosDest{t} }
func (stamps) Arg(t time.Time) any       { return micros(t) }
func (stamps) OptArg(t *time.Time) any   { return optMicros(t) }

// microsDest scans a stored integer into a time.
type microsDest struct{ t *time.Time }

func (d microsDest) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		return errors.New("stored time is NULL")
	}
	*d.t = fromMicros(n.Int64)
	return nil
}

// optMicrosDest scans a nullable stored integer into a time (nil for
// NULL).
type optMicrosDest struct{ t **time.Time }

func (d optMicrosDest) Scan(v any) error {
	if v == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (microsDest{&t}).Scan(v); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

// optMicros is a nullable time as a stored integer.
func optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}
