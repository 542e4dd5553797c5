// Package mapping turns an Alertmanager webhook notification into the fields
// of a COC issue ticket and into the issue key that deduplicates tickets.
//
// It owns:
//
//   - the webhook v4 body (Message), its decoding and validation;
//   - the issue key (Mapper.Key): a sha256 over a pinned, namespaced encoding
//     of the instance, the receiver and the group labels, the alert
//     fingerprint or the raw group key, depending on the key mode;
//   - the ticket fields (Mapper.Map): level from the highest firing severity,
//     regions from labels, discovery time, title and description rendered
//     with Alertmanager's own template engine and cut rune-safely to size,
//     and the static fields with per-receiver overrides;
//   - the mapping configuration (Config), its YAML overlay and its validation
//     against COC's enums;
//   - the ticket's lifecycle policies, global and per receiver (policy.go:
//     Mapper.Policy, Mapper.Lookups), and the texts the bridge writes into
//     COC actions (actiontext.go: level change reason, revocation reason,
//     solution).
//
// The package is pure: it does no I/O, reads no clock (except to bound how
// long a template may run), logs nothing and counts nothing. It reports
// facts (for example how many alerts had an unknown severity) and leaves
// counting and logging to package bridge. It never talks to COC (package
// client) and never stores anything (package bridge); bridge converts a
// Ticket into the client's request.
//
// A Mapper is immutable after New and safe for concurrent use.
package mapping
