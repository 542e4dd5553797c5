package main

import (
	"os"
	"strings"
	"testing"
)

// readmePath is the operator's manual, relative to this package.
const readmePath = "../../README.md"

// The README's table of environment variables is generated from the config
// struct, so it cannot drift from what the daemon reads. To regenerate it:
//
//	COC_BRIDGE_UPDATE_README=1 go test ./cmd/coc-bridge -run TestREADMEEnvTable
func TestREADMEEnvTable(t *testing.T) {
	const begin, end = "<!-- env-table:begin (generated: COC_BRIDGE_UPDATE_README=1 go test ./cmd/coc-bridge -run TestREADMEEnvTable) -->\n", "<!-- env-table:end -->"
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q around the variable table", readmePath, begin, end)
	}
	want := envTableMarkdown()
	got := readme[i+len(begin) : j]
	if got == want {
		return
	}
	if os.Getenv("COC_BRIDGE_UPDATE_README") != "" {
		if err := os.WriteFile(readmePath, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated the variable table in %s", readmePath)
		return
	}
	t.Errorf("the variable table in %s is out of date; regenerate it with\n"+
		"  COC_BRIDGE_UPDATE_README=1 go test ./cmd/coc-bridge -run TestREADMEEnvTable\ngot:\n%s\nwant:\n%s", readmePath, got, want)
}

// envTableMarkdown renders every variable as a Markdown table row.
func envTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range envVars() {
		def := "–"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		help := strings.ReplaceAll(v.Help, "|", `\|`)
		b.WriteString("| `" + v.Name + "` | " + def + " | " + help + " |\n")
	}
	return b.String()
}
