package coctest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
)

func TestListFiltersSortsPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var ids []string
	for i := range 5 {
		src := "k1"
		if i == 2 {
			src = "other"
		}
		a := f.do(t, "POST", "/v1/issues_mgmt/tickets", strings.Replace(validCreate, `"k1"`, `"`+src+`"`, 1), nil)
		ids = append(ids, a.data()["ticket_id"].(string))
		f.clock.add(time.Second)
	}
	list := func(body string) (int, []string, answer) {
		a := f.do(t, "POST", "/v1/issues_mgmt/list-tickets", body, nil)
		var got []string
		for _, tk := range a.data()["tickets"].([]any) {
			got = append(got, tk.(map[string]any)["ticket_id"].(string))
		}
		total, _ := a.data()["total"].(float64)
		return int(total), got, a
	}
	filter := `"string_filters":[{"name":"source_id","operator":"=","field":"source_id","values":["k1"]}]`
	total, got, _ := list(`{` + filter + `,"sort_filter":{"operator":"desc","field":"create_time","values":["create_time"]},"page":1,"per_page":10,"contain_total":true}`)
	if want := []string{ids[4], ids[3], ids[1], ids[0]}; total != 4 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("desc: total %d, %v; want %v", total, got, want)
	}
	total, got, _ = list(`{` + filter + `,"sort_filter":{"operator":"asc","field":"create_time","values":["create_time"]},"page":2,"per_page":3}`)
	if total != 4 || fmt.Sprint(got) != fmt.Sprint([]string{ids[4]}) {
		t.Fatalf("asc page 2: total %d, %v", total, got)
	}
	total, got, _ = list(`{"string_filters":[{"operator":"startwith","field":"ticket_id","values":["ISU"]}],"contain_all":true,"per_page":1}`)
	if total != 5 || len(got) != 5 {
		t.Fatalf("contain_all: total %d, %d tickets", total, len(got))
	}
	for _, bad := range []string{`{"string_filters":[{"operator":"=","field":"nope","values":["x"]}]}`,
		`{"string_filters":[{"operator":"~","field":"source_id","values":["x"]}]}`, `{"int_filters":[]}`,
		`{"sort_filter":{"operator":"up","field":"create_time"}}`, `[`} {
		if a := f.do(t, "POST", "/v1/issues_mgmt/list-tickets", bad, nil); a.status != 400 || a.code() != client.CodeInvalidParameter {
			t.Errorf("%s: %d %s", bad, a.status, a.raw)
		}
	}
}
