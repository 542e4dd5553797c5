package mapping

// Ticket is a notification mapped to COC's issue-ticket fields, plus the
// facts the bridge reports. Package bridge converts it into the client's
// create request; JSON names follow COC's create body where there is one.
type Ticket struct {
	// Key is the issue key; it is also sent as SourceID.
	Key string `json:"key"`
	// Receiver is the unescaped Alertmanager receiver name.
	Receiver string `json:"receiver"`
	// Status is the notification's status, firing or resolved.
	Status string `json:"status"`

	// Title and Description are rendered, valid UTF-8 and within the
	// configured rune limits.
	Title       string `json:"title"`
	Description string `json:"description"`
	// Level is one of issues_level_1000..4000.
	Level string `json:"level"`
	// Regions is the comma-joined list of region ids; "" sends none.
	Regions string `json:"regions,omitempty"`
	// SourceID is the issue key, sent with Fields.Source.
	SourceID string `json:"source_id"`
	// FountTime is the earliest alert start, epoch milliseconds; 0 when no
	// alert has a start time (then it is not sent).
	FountTime int64 `json:"fount_time,omitempty"`
	// Fields are the static fields resolved for the receiver, Source among
	// them.
	Fields

	// UnknownSeverities counts the alerts that decided the level (the
	// firing ones, or all when none fires) whose severity label was missing
	// or not in the level table; they got the default level.
	UnknownSeverities int `json:"unknown_severities"`
	// Firing and Resolved count the notification's alerts by status.
	Firing   int `json:"firing"`
	Resolved int `json:"resolved"`
}
