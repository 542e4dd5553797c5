package mapping

import (
	"fmt"
	"maps"
)

// Mapper maps notifications to issue keys and ticket fields. It is built
// once from a validated Config by New and is safe for concurrent use.
type Mapper struct {
	cfg       Config
	global    *profile
	receivers map[string]*profile
}

// profile is the resolved configuration for one receiver (or for every
// receiver without overrides).
type profile struct {
	fields        Fields
	title         *compiledTemplate
	description   *compiledTemplate
	defaultRegion string
	levels        map[string]string // normalized severity -> level
}

// MapOptions are the per-delivery inputs of Map.
type MapOptions struct {
	// PreviousTicketID, when set, is the key's earlier ticket, now closed;
	// the default description names it ("Previous ticket: ISU…").
	PreviousTicketID string
}

// New validates cfg and compiles its templates. The Mapper keeps its own
// copy of cfg.
func New(cfg Config) (*Mapper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.clone()
	root, err := newTemplateRoot()
	if err != nil {
		return nil, err
	}
	levels := normalizeLevels(nil, cfg.Levels)
	global := &profile{fields: cfg.Fields, levels: levels}
	if global.title, err = root.parse("title", cfg.Title); err != nil {
		return nil, fmt.Errorf("title: %w", err)
	}
	if global.description, err = root.parse("description", cfg.Description); err != nil {
		return nil, fmt.Errorf("description: %w", err)
	}
	m := &Mapper{cfg: cfg, global: global, receivers: make(map[string]*profile, len(cfg.Receivers))}
	for name, r := range cfg.Receivers {
		p := &profile{
			fields:        mergeFields(cfg.Fields, r.Fields),
			title:         global.title,
			description:   global.description,
			defaultRegion: r.DefaultRegion,
			levels:        levels,
		}
		if len(r.Levels) > 0 {
			p.levels = normalizeLevels(levels, r.Levels)
		}
		field := fmt.Sprintf("receivers[%q].", name)
		if r.Title != "" {
			if p.title, err = root.parse(field+"title", r.Title); err != nil {
				return nil, fmt.Errorf("%stitle: %w", field, err)
			}
		}
		if r.Description != "" {
			if p.description, err = root.parse(field+"description", r.Description); err != nil {
				return nil, fmt.Errorf("%sdescription: %w", field, err)
			}
		}
		m.receivers[name] = p
	}
	return m, nil
}

// normalizeLevels returns base with over merged in, keys normalized.
func normalizeLevels(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = make(map[string]string, len(over))
	}
	for k, v := range over {
		out[normalizeSeverity(k)] = v
	}
	return out
}

// profile returns the configuration of a receiver.
func (m *Mapper) profile(receiver string) *profile {
	if p, ok := m.receivers[receiver]; ok {
		return p
	}
	return m.global
}

// Map maps a notification (one part of Split) to a ticket. It validates the
// message first. An error means the message is invalid (an *InputError) or
// a template failed on it (a configuration problem); retrying does not help.
func (m *Mapper) Map(msg *Message, opts MapOptions) (Ticket, error) {
	if err := msg.Validate(); err != nil {
		return Ticket{}, err
	}
	p := m.profile(msg.Receiver)
	key := m.Key(msg)
	level, unknown := p.level(msg, m.cfg.SeverityLabel, m.cfg.DefaultLevel)
	t := Ticket{
		Key:               key,
		Receiver:          msg.Receiver,
		Status:            msg.Status,
		Level:             level,
		Regions:           p.regions(msg, m.cfg.RegionLabels, m.cfg.DefaultRegion),
		SourceID:          key,
		FountTime:         fountTime(msg),
		Fields:            p.fields,
		UnknownSeverities: unknown,
	}
	if p.fields.IsStartProcess != nil {
		v := *p.fields.IsStartProcess
		t.IsStartProcess = &v
	}
	for _, a := range msg.Alerts {
		if a.Status == StatusFiring {
			t.Firing++
		} else {
			t.Resolved++
		}
	}
	data := TemplateData{
		Data:             msg.Data,
		GroupKey:         msg.GroupKey,
		TruncatedAlerts:  msg.TruncatedAlerts,
		PreviousTicketID: opts.PreviousTicketID,
		Instance:         m.cfg.Instance,
		Key:              key,
		SeverityLabel:    m.cfg.SeverityLabel,
		NumFiring:        t.Firing,
		NumResolved:      t.Resolved,
	}
	var err error
	if t.Title, err = renderTitle(p.title, data, m.cfg.MaxTitleRunes); err != nil {
		return Ticket{}, err
	}
	if t.Description, err = renderDescription(p.description, data, m.cfg.MaxDescriptionRunes); err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// fountTime returns the earliest alert start in epoch milliseconds, or 0
// when no alert has one (a zero or pre-1970 start counts as none).
func fountTime(msg *Message) int64 {
	var earliest int64
	for _, a := range msg.Alerts {
		if a.StartsAt.IsZero() {
			continue
		}
		if ms := a.StartsAt.UnixMilli(); ms > 0 && (earliest == 0 || ms < earliest) {
			earliest = ms
		}
	}
	return earliest
}
