package mapping

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

func TestCutRunes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in    string
		limit int
		want  string
	}{
		{"hello", 5, "hello"},
		{"hello", 4, "hel…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"", 3, ""},
		{"磁盘空间不足", 6, "磁盘空间不足"},
		{"磁盘空间不足", 4, "磁盘空…"},
		{"🔥💾🔥💾", 3, "🔥💾…"},
		{"a🔥b", 2, "a…"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.in, tc.limit), func(t *testing.T) {
			t.Parallel()
			got := cutRunes(tc.in, tc.limit)
			if got != tc.want {
				t.Errorf("cutRunes = %q, want %q", got, tc.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tc.limit, 0) {
				t.Errorf("invalid result %q", got)
			}
		})
	}
}

func TestTrimPartialRune(t *testing.T) {
	t.Parallel()
	s := "ab磁🔥"
	for i := range len(s) + 1 {
		got := trimPartialRune(s[:i])
		if !utf8.ValidString(got) || !strings.HasPrefix(s, got) || len(s[:i])-len(got) > 3 {
			t.Errorf("trimPartialRune(%q) = %q", s[:i], got)
		}
	}
}

// bigMessage has n alerts with multi-byte text; every third one resolved
// when withResolved.
func bigMessage(n int, withResolved bool) *Message {
	specs := make([]alertSpec, n)
	for i := range specs {
		specs[i] = alertSpec{severity: "major", region: "cn-north-4", startsAt: time.Date(2026, 11, 23, 9, 0, i, 0, time.UTC),
			labels: template.KV{"说明": fmt.Sprintf("节点-%02d 磁盘空间不足 🔥💾 请尽快处理", i)}}
		if withResolved && i%3 == 2 {
			specs[i].status = StatusResolved
		}
	}
	return testMessage("运维", specs...)
}

var moreAlertsRE = regexp.MustCompile(`\+(\d+) more alerts? \(left out to fit the description limit\)`)

func TestDescriptionTruncation(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 10, 57, 100, 300, 777, 1000, 2500, 100000} {
		for _, n := range []int{1, 2, 7, 50} {
			t.Run(fmt.Sprintf("limit %d, %d alerts", limit, n), func(t *testing.T) {
				t.Parallel()
				cfg := testConfig()
				cfg.MaxDescriptionRunes = limit
				cfg.MaxTitleRunes = limit
				m := mustMapper(t, cfg)
				msg := bigMessage(n, true)
				tk, err := m.Map(msg, MapOptions{PreviousTicketID: "ISU20261123000000000000001"})
				if err != nil {
					t.Fatal(err)
				}
				d := tk.Description
				if !utf8.ValidString(d) || !utf8.ValidString(tk.Title) {
					t.Fatalf("invalid UTF-8")
				}
				if got := utf8.RuneCountInString(d); got > limit {
					t.Errorf("description has %d runes, limit %d", got, limit)
				}
				if got := utf8.RuneCountInString(tk.Title); got > limit {
					t.Errorf("title has %d runes, limit %d", got, limit)
				}
				shown := strings.Count(d, "\n- Test (")
				mm := moreAlertsRE.FindStringSubmatch(d)
				switch {
				case shown == n:
					if mm != nil {
						t.Errorf("every alert shown, yet %q", mm[0])
					}
				case mm != nil:
					omitted, _ := strconv.Atoi(mm[1])
					if shown+omitted != n {
						t.Errorf("%d shown + %d omitted != %d alerts", shown, omitted, n)
					}
					// The previous ticket survives the cut.
					if !strings.Contains(d, "Previous ticket: ISU20261123000000000000001") && limit >= 150 {
						t.Errorf("the previous ticket line was cut:\n%s", d)
					}
				case limit >= 300:
					t.Errorf("%d of %d alerts shown and no \"+N more alerts\" line:\n%s", shown, n, d)
				}
			})
		}
	}
}

func TestDescriptionDropsResolvedFirst(t *testing.T) {
	t.Parallel()
	msg := bigMessage(6, false)
	for i := range msg.Alerts {
		if i%2 == 0 {
			msg.Alerts[i].Status = StatusResolved
		}
	}
	cfg := testConfig()
	full, err := mustMapper(t, cfg).Map(msg, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Room for about three alerts.
	cfg.MaxDescriptionRunes = utf8.RuneCountInString(full.Description) * 55 / 100
	tk, err := mustMapper(t, cfg).Map(msg, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := tk.Description
	if strings.Contains(d, ", resolved") {
		t.Errorf("a resolved alert was kept while firing ones were left out:\n%s", d)
	}
	shown := strings.Count(d, "\n- Test (")
	mm := moreAlertsRE.FindStringSubmatch(d)
	if mm == nil || shown == 0 || shown > 3 {
		t.Fatalf("want some firing alerts and a +N more line:\n%s", d)
	}
	if omitted, _ := strconv.Atoi(mm[1]); shown+omitted != 6 {
		t.Errorf("%d shown + %d omitted != 6", shown, omitted)
	}
}

// When not even the text without alerts fits, it is cut and still says how
// many alerts were left out.
func TestDescriptionHardCut(t *testing.T) {
	t.Parallel()
	msg := bigMessage(5, false)
	msg.CommonAnnotations["summary"] = strings.Repeat("磁盘空间不足🔥", 2000)
	cfg := testConfig()
	cfg.MaxDescriptionRunes = 500
	tk, err := mustMapper(t, cfg).Map(msg, MapOptions{PreviousTicketID: "ISU7"})
	if err != nil {
		t.Fatal(err)
	}
	d := tk.Description
	if n := utf8.RuneCountInString(d); n != 500 {
		t.Errorf("description has %d runes, want 500", n)
	}
	if !utf8.ValidString(d) || !strings.HasSuffix(d, "…\n+5 more alerts (left out to fit the description limit)\nPrevious ticket: ISU7") {
		t.Errorf("want a cut text then +5 more alerts:\n%s", d)
	}
}

func TestTemplateData(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Instance = "prod-eu"
	cfg.Title = `{{ template "__subject" . }}`
	cfg.Description = `{{ .Instance }}|{{ .Key }}|{{ .GroupKey }}|{{ .TruncatedAlerts }}|{{ .PreviousTicketID }}|` +
		`{{ .SeverityLabel }}|{{ .NumFiring }}/{{ .NumResolved }}|{{ .OmittedAlerts }}|{{ .Receiver }}|` +
		`{{ len .Alerts.Firing }}|{{ .CommonLabels.alertname | toUpper }}|{{ .AlertmanagerURL }}|{{ .Missing }}`
	m := mustMapper(t, cfg)
	msg := testMessage(`a.b+c`, alertSpec{}, alertSpec{status: StatusResolved})
	msg.TruncatedAlerts = 4
	tk, err := m.Map(msg, MapOptions{PreviousTicketID: "ISU1"})
	if err == nil {
		t.Fatalf("a missing field must fail, got %q", tk.Description)
	}
	cfg.Description = strings.TrimSuffix(cfg.Description, `|{{ .Missing }}`)
	m = mustMapper(t, cfg)
	tk, err = m.Map(msg, MapOptions{PreviousTicketID: "ISU1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "prod-eu|" + tk.Key + `|{}:{alertname="Test"}|4|ISU1|severity|1/1|0|a.b+c|1|TEST|` +
		`http://alertmanager.example:9093/#/alerts?receiver=a%5C.b%5C%2Bc`
	if tk.Description != want {
		t.Errorf("description\n got %s\nwant %s", tk.Description, want)
	}
	if tk.Title != "[FIRING:1] Test" {
		t.Errorf("title from Alertmanager's __subject: %q", tk.Title)
	}
}

// A replacement ticket names the previous one even when the template does
// not.
func TestPreviousTicketAlwaysNamed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, description, want string
	}{
		{"template without it", "custom text", "custom text\nPrevious ticket: ISU42"},
		{"template with it", "see {{ .PreviousTicketID }}", "see ISU42"},
		{"default template", DefaultDescriptionTemplate, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Description = tc.description
			tk, err := mustMapper(t, cfg).Map(testMessage("r", alertSpec{}), MapOptions{PreviousTicketID: "ISU42"})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(tk.Description, "ISU42") != 1 || (tc.want != "" && tk.Description != tc.want) {
				t.Errorf("description %q", tk.Description)
			}
			tk, err = mustMapper(t, cfg).Map(testMessage("r", alertSpec{}), MapOptions{})
			if err != nil || strings.Contains(tk.Description, "Previous ticket") {
				t.Errorf("without a previous ticket: %q, %v", tk.Description, err)
			}
		})
	}
}

func TestTemplateFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, title, description string
		wantErr                  string // "" means no error
		check                    func(t *testing.T, tk Ticket)
	}{
		{name: "runtime error", description: `{{ index .Alerts 5 }}`, wantErr: "render description: template: description:1:3: executing \"description\" at <index .Alerts 5>: error calling index: index out of range: 5"},
		{name: "function panic is an error", title: `{{ reReplaceAll "(" "" "x" }}`, wantErr: "render title: template: title:1:3: executing \"title\" at <reReplaceAll \"(\" \"\" \"x\">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"},
		{name: "empty description", description: `{{ "  " }}`, wantErr: "render description: the template rendered an empty text (COC requires a description)"},
		{name: "huge title is cut", title: `{{ range 5000000 }}🔥{{ end }}`, check: func(t *testing.T, tk Ticket) {
			if tk.Title != strings.Repeat("🔥", 254)+"…" {
				t.Errorf("title %q", tk.Title)
			}
		}},
		{name: "huge description is cut", description: `{{ range 5000000 }}磁{{ end }}`, check: func(t *testing.T, tk Ticket) {
			if n := utf8.RuneCountInString(tk.Description); n != DefaultMaxDescriptionRunes || !strings.Contains(tk.Description, "…\n+1 more alert ") {
				t.Errorf("description of %d runes ends %q", n, tk.Description[len(tk.Description)-80:])
			}
		}},
		{name: "title on one line", title: "  a\n\tb  \r\n c  ", check: func(t *testing.T, tk Ticket) {
			if tk.Title != "a b c" {
				t.Errorf("title %q", tk.Title)
			}
		}},
		{name: "invalid UTF-8 replaced", title: `{{ .CommonLabels.bad }}`, description: `x{{ .CommonLabels.bad }}`, check: func(t *testing.T, tk Ticket) {
			if tk.Title != "a\uFFFDb" || tk.Description != "xa\uFFFDb" {
				t.Errorf("title %q, description %q", tk.Title, tk.Description)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			if tc.title != "" {
				cfg.Title = tc.title
			}
			if tc.description != "" {
				cfg.Description = tc.description
			}
			m := mustMapper(t, cfg)
			msg := testMessage("r", alertSpec{})
			msg.CommonLabels["bad"] = "a\xffb"
			tk, err := m.Map(msg, MapOptions{})
			switch {
			case tc.wantErr != "" && err == nil:
				t.Fatalf("no error; want %s", tc.wantErr)
			case tc.wantErr != "" && err.Error() != tc.wantErr:
				t.Fatalf("error\n got %v\nwant %s", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, tk)
			}
		})
	}
}

func TestMapFields(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	cfg := testConfig()
	cfg.Fields.RootCauseCloudService = "app-1"
	cfg.Fields.IsStartProcess = &yes
	cfg.Receivers = map[string]Receiver{
		"shift": {Fields: Fields{VirtualScheduleType: ScheduleShift, ScheduleScenes: "scene-1", Source: SourceProactive, IsStartProcess: &no}},
		"other": {Fields: Fields{TicketType: "issues_type_2000", IssueContactPerson: "u2"}},
	}
	m := mustMapper(t, cfg)
	cases := []struct {
		receiver string
		want     Fields
	}{
		{"r", Fields{TicketType: DefaultTicketType, EnterpriseProject: "0", VirtualScheduleType: ScheduleIndividual,
			IssueContactPerson: testContact, RootCauseCloudService: "app-1", Source: SourceAlarm, IsStartProcess: &yes}},
		{"shift", Fields{TicketType: DefaultTicketType, EnterpriseProject: "0", VirtualScheduleType: ScheduleShift,
			ScheduleScenes: "scene-1", RootCauseCloudService: "app-1", Source: SourceProactive, IsStartProcess: &no}},
		{"other", Fields{TicketType: "issues_type_2000", EnterpriseProject: "0", VirtualScheduleType: ScheduleIndividual,
			IssueContactPerson: "u2", RootCauseCloudService: "app-1", Source: SourceAlarm, IsStartProcess: &yes}},
	}
	for _, tc := range cases {
		t.Run(tc.receiver, func(t *testing.T) {
			t.Parallel()
			tk, err := m.Map(testMessage(tc.receiver, alertSpec{}), MapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, want := fmt.Sprintf("%+v %v", tk.Fields, *tk.IsStartProcess), fmt.Sprintf("%+v %v", tc.want, *tc.want.IsStartProcess)
			got = regexp.MustCompile(`IsStartProcess:0x[0-9a-f]+`).ReplaceAllString(got, "")
			want = regexp.MustCompile(`IsStartProcess:0x[0-9a-f]+`).ReplaceAllString(want, "")
			if got != want {
				t.Errorf("fields\n got %s\nwant %s", got, want)
			}
			if tk.Source != tc.want.Source {
				t.Errorf("source %q", tk.Source)
			}
		})
	}
	// The ticket does not share the mapper's pointer.
	tk, _ := m.Map(testMessage("r", alertSpec{}), MapOptions{})
	*tk.IsStartProcess = false
	if again, _ := m.Map(testMessage("r", alertSpec{}), MapOptions{}); !*again.IsStartProcess {
		t.Error("changing a ticket changed the mapper")
	}
}

func TestFountTime(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		alerts []alertSpec
		want   int64
	}{
		{"earliest", []alertSpec{{startsAt: t0.Add(time.Minute)}, {startsAt: t0}, {startsAt: t0.Add(time.Hour)}}, t0.UnixMilli()},
		{"resolved alerts count", []alertSpec{{startsAt: t0}, {status: StatusResolved, startsAt: t0.Add(-time.Hour)}}, t0.Add(-time.Hour).UnixMilli()},
		{"zero start ignored", []alertSpec{{}, {startsAt: t0}}, t0.UnixMilli()},
		{"other zone", []alertSpec{{startsAt: t0.In(time.FixedZone("CST", 8*3600))}}, t0.UnixMilli()},
		{"none", []alertSpec{{}}, 0},
		{"before 1970 ignored", []alertSpec{{startsAt: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}}, 0},
	}
	m := mustMapper(t, testConfig())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk, err := m.Map(testMessage("r", tc.alerts...), MapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tk.FountTime != tc.want {
				t.Errorf("fount_time %d, want %d", tk.FountTime, tc.want)
			}
		})
	}
}

func TestMapRejectsInvalidMessages(t *testing.T) {
	t.Parallel()
	m := mustMapper(t, testConfig())
	if _, err := m.Map(&Message{}, MapOptions{}); err == nil || err.Error() != `missing version: want "4"` {
		t.Errorf("Map(empty) error %v", err)
	}
}
