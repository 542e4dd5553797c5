package mapping

import (
	"slices"
	"strings"
)

// maxRegions is the most regions a ticket names.
const maxRegions = 100

// regions returns the union, over all alerts, of the values of the region
// labels (a value may itself be a comma-separated list), trimmed, without
// empty ones, deduplicated, sorted, at most maxRegions (the first in sort
// order), joined with ",". Without any, it returns the receiver's default
// region, else the global one, else "".
func (p *profile) regions(msg *Message, labels []string, globalDefault string) string {
	var set map[string]struct{}
	for _, a := range msg.Alerts {
		for _, name := range labels {
			v, ok := a.Labels[name]
			if !ok {
				continue
			}
			for part := range strings.SplitSeq(v, ",") {
				if part = strings.TrimSpace(part); part == "" {
					continue
				}
				if set == nil {
					set = make(map[string]struct{})
				}
				set[part] = struct{}{}
			}
		}
	}
	if len(set) == 0 {
		if p.defaultRegion != "" {
			return p.defaultRegion
		}
		return globalDefault
	}
	list := make([]string, 0, len(set))
	for r := range set {
		list = append(list, r)
	}
	slices.Sort(list)
	if len(list) > maxRegions {
		list = list[:maxRegions]
	}
	return strings.Join(list, ",")
}
