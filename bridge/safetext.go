package bridge

import (
	"strings"
	"unicode/utf8"
)

// Text from COC (error codes and messages, status names, ticket ids) and
// the bridge's own error strings that quote it reach the store as they
// came. PostgreSQL refuses a NUL or invalid UTF-8 in a text column, so one
// such byte in a COC error message would make a dead letter or a retry
// fail and the item be retried every lease instead; a gateway's error page
// quoted in full would bloat every row that keeps it. Every engine stores
// these fields through the Safe methods below, so no caller can forget.

// Caps on the text fields engines store, in bytes.
const (
	// MaxCodeBytes caps error codes (COC's are like GOM.00007256).
	MaxCodeBytes = 128
	// MaxNameBytes caps ticket ids and status names.
	MaxNameBytes = 256
	// MaxTextBytes caps error messages.
	MaxTextBytes = 4096
)

// ellipsis ends a text that was cut.
const ellipsis = "…"

// SafeText returns s made storable by every engine: each NUL and each run
// of invalid UTF-8 bytes becomes U+FFFD, and a result longer than max bytes
// is cut at a character boundary and ends with "…", within max bytes. It is
// idempotent: SafeText(SafeText(s, n), n) == SafeText(s, n). A max below 1
// means no cap; one below the length of the ellipsis cuts without it.
func SafeText(s string, max int) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if max < 1 || len(s) <= max {
		return s
	}
	suffix := ellipsis
	if max < len(suffix) {
		suffix = ""
	}
	cut := max - len(suffix)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + suffix
}

// safe makes each of texts storable, capped at max bytes (SafeText).
func safe(max int, texts ...*string) {
	for _, t := range texts {
		*t = SafeText(*t, max)
	}
}

// Safe returns d with its Code and Message made storable (SafeText).
func (d DeadLetterRequest) Safe() DeadLetterRequest {
	safe(MaxCodeBytes, &d.Code)
	safe(MaxTextBytes, &d.Message)
	return d
}

// Safe returns r with its LastError made storable (SafeText).
func (r RetryRequest) Safe() RetryRequest {
	safe(MaxTextBytes, &r.LastError)
	return r
}

// Safe returns c with its TicketID, Status, Level and Error made storable
// (SafeText). The ticket id is the one stored by Complete, made safe the
// same way, so it still matches.
func (c Check) Safe() Check {
	safe(MaxNameBytes, &c.TicketID, &c.Status, &c.Level)
	safe(MaxTextBytes, &c.Error)
	return c
}

// Safe returns r with its TicketID and Status made storable (SafeText).
func (r Release) Safe() Release {
	safe(MaxNameBytes, &r.TicketID, &r.Status)
	return r
}

// Safe returns c with its TicketID, Level, Finished and Title made
// storable (SafeText), and an empty Kind as KindCreate.
func (c Completion) Safe() Completion {
	safe(MaxNameBytes, &c.TicketID, &c.Level, &c.Finished)
	safe(MaxTextBytes, &c.Title)
	if c.Kind == "" {
		c.Kind = KindCreate
	}
	return c
}
