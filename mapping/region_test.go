package mapping

import (
	"fmt"
	"strings"
	"testing"
)

func TestRegions(t *testing.T) {
	t.Parallel()
	var many []alertSpec
	var want100 []string
	for i := range 150 {
		many = append(many, alertSpec{region: fmt.Sprintf("r-%03d", i)})
		if i < 100 {
			want100 = append(want100, fmt.Sprintf("r-%03d", i))
		}
	}
	cases := []struct {
		name     string
		labels   []string
		global   string
		receiver string
		alerts   []alertSpec
		want     string
	}{
		{"union, sorted, deduplicated", []string{"region"}, "", "r",
			[]alertSpec{{region: "cn-south-1"}, {region: "cn-north-4"}, {region: "cn-south-1"}}, "cn-north-4,cn-south-1"},
		{"comma lists split and trimmed, empty dropped", []string{"region"}, "", "r",
			[]alertSpec{{region: " cn-north-4 , ap-southeast-3,,"}, {region: " "}}, "ap-southeast-3,cn-north-4"},
		{"resolved alerts count", []string{"region"}, "", "r",
			[]alertSpec{{region: "a"}, {status: StatusResolved, region: "b"}}, "a,b"},
		{"several labels", []string{"region", "zone"}, "", "r",
			[]alertSpec{{region: "b", labels: map[string]string{"zone": "a"}}, {labels: map[string]string{"zone": "c"}}}, "a,b,c"},
		{"capped at 100, first in sort order", []string{"region"}, "", "r", many, strings.Join(want100, ",")},
		{"none: global default", []string{"region"}, "cn-north-4", "r", []alertSpec{{}}, "cn-north-4"},
		{"none, empty values: global default", []string{"region"}, "cn-north-4", "r", []alertSpec{{region: " , "}}, "cn-north-4"},
		{"none: receiver default wins", []string{"region"}, "cn-north-4", "eu", []alertSpec{{}}, "eu-west-101"},
		{"receiver default only without labels", []string{"region"}, "cn-north-4", "eu", []alertSpec{{region: "x"}}, "x"},
		{"none and no default: omitted", []string{"region"}, "", "r", []alertSpec{{}}, ""},
		{"no region labels configured", nil, "d", "r", []alertSpec{{region: "x"}}, "d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.RegionLabels = tc.labels
			cfg.DefaultRegion = tc.global
			cfg.Receivers = map[string]Receiver{"eu": {DefaultRegion: "eu-west-101"}}
			m := mustMapper(t, cfg)
			tk, err := m.Map(testMessage(tc.receiver, tc.alerts...), MapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tk.Regions != tc.want {
				t.Errorf("regions = %q, want %q", tk.Regions, tc.want)
			}
		})
	}
}
