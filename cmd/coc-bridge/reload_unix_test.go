//go:build unix

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The mapping file is reloaded on SIGHUP and on POST /-/reload: the next
// ticket uses the new template; an invalid file keeps the mapping in force
// and sets coc_bridge_config_last_reload_successful to 0, until a valid one
// is loaded again.
func TestReloadMapping(t *testing.T) {
	fake, cocURL := newFake(t)
	env := testEnv(t, cocURL)
	mappingFile := filepath.Join(t.TempDir(), "mapping.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(mappingFile+".new", []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(mappingFile+".new", mappingFile); err != nil {
			t.Fatal(err)
		}
	}
	write("title: 'v1 {{ .CommonLabels.service }}'\n")
	env["COC_BRIDGE_MAPPING_FILE"] = mappingFile
	d := startServe(t, env)

	titleOf := func(group string) string {
		t.Helper()
		key, _ := d.postSample(sampleOptions{Group: group}, nil)
		var title string
		waitFor(t, 15*time.Second, "the ticket of "+group, func() bool {
			tickets := fake.TicketsBySourceID(key)
			if len(tickets) == 1 {
				title = tickets[0].Title
			}
			return len(tickets) == 1
		})
		return title
	}
	metric := func(name string) string {
		t.Helper()
		_, body := d.do(request{path: "/metrics"})
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return v
			}
		}
		t.Fatalf("/metrics has no %s", name)
		return ""
	}
	if got := titleOf("g1"); got != "v1 g1" {
		t.Fatalf("title %q, want v1 g1", got)
	}
	if got := metric("coc_bridge_config_last_reload_successful"); got != "1" {
		t.Errorf("last_reload_successful at start = %s", got)
	}
	started := metric("coc_bridge_config_last_reload_success_timestamp_seconds")

	// SIGHUP.
	write("title: 'v2 {{ .CommonLabels.service }}'\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the SIGHUP reload", func() bool {
		return metric("coc_bridge_config_last_reload_success_timestamp_seconds") != started
	})
	if got := titleOf("g2"); got != "v2 g2" {
		t.Errorf("after SIGHUP: title %q, want v2 g2", got)
	}
	if !strings.Contains(d.log.String(), `"changed": ["title"]`) && !strings.Contains(d.log.String(), `"changed":["title"]`) {
		t.Errorf("no log line naming the changed setting:\n%s", d.log)
	}

	// An invalid file: the old mapping stays.
	write("title: '{{ .Nope'\n")
	if code, body := d.do(request{method: http.MethodPost, path: "/-/reload"}); code != http.StatusInternalServerError || !strings.Contains(body, "kept") {
		t.Errorf("reload of an invalid file: %d %s", code, body)
	}
	if got := metric("coc_bridge_config_last_reload_successful"); got != "0" {
		t.Errorf("last_reload_successful after an invalid file = %s, want 0", got)
	}
	if got := titleOf("g3"); got != "v2 g3" {
		t.Errorf("after an invalid file: title %q, want the kept v2 g3", got)
	}
	if code, _ := d.do(request{path: "/-/reload"}); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", code)
	}

	// POST /-/reload with a valid file.
	write("title: 'v3 {{ .CommonLabels.service }}'\n")
	if code, body := d.do(request{method: http.MethodPost, path: "/-/reload"}); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	if got := metric("coc_bridge_config_last_reload_successful"); got != "1" {
		t.Errorf("last_reload_successful after a good reload = %s", got)
	}
	if got := titleOf("g4"); got != "v3 g4" {
		t.Errorf("after POST /-/reload: title %q, want v3 g4", got)
	}
	if code := d.stop(); code != exitOK {
		t.Errorf("exit %d:\n%s", code, d.log)
	}
}
