package mapping

// Level returns the COC level of the message and how many of the alerts
// that decided it had a missing or unknown severity (those count with the
// default level). The level is the most severe among the firing alerts, or
// among all alerts when none fires (a resolved notification). Severities are
// matched lower-cased and trimmed against the receiver's table (its own
// entries merged over the global ones).
func (m *Mapper) Level(msg *Message) (level string, unknown int) {
	if msg.Data == nil {
		return m.cfg.DefaultLevel, 0
	}
	return m.profile(msg.Receiver).level(msg, m.cfg.SeverityLabel, m.cfg.DefaultLevel)
}

func (p *profile) level(msg *Message, label, defaultLevel string) (string, int) {
	onlyFiring := msg.Firing()
	if onlyFiring {
		// A firing status says at least one alert fires; check anyway, as
		// an unvalidated message may say otherwise.
		onlyFiring = false
		for _, a := range msg.Alerts {
			if a.Status == StatusFiring {
				onlyFiring = true
				break
			}
		}
	}
	best, unknown := "", 0
	for _, a := range msg.Alerts {
		if onlyFiring && a.Status != StatusFiring {
			continue
		}
		l, ok := p.levels[normalizeSeverity(a.Labels[label])]
		if !ok {
			l = defaultLevel
			unknown++
		}
		if best == "" || levelRank(l) < levelRank(best) {
			best = l
		}
	}
	if best == "" {
		return defaultLevel, unknown
	}
	return best, unknown
}
