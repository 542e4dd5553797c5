package deploy

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	dashboardPath      = "grafana/coc-bridge.json"
	chartDashboardPath = "helm/coc-bridge/dashboards/coc-bridge.json"
	rulesPath          = "prometheus/coc-bridge-rules.yaml"
	chartRulesPath     = "helm/coc-bridge/rules/coc-bridge-rules.yaml"
	runbookPath        = "../README.md"
	runbookURLPrefix   = "https://github.com/coc-bridge/coc-bridge/blob/main/README.md#runbook-"
)

// TestChartCopiesAreIdentical keeps the files the chart ships (it can only read files
// inside its own directory) byte-identical to their sources.
func TestChartCopiesAreIdentical(t *testing.T) {
	for src, dst := range map[string]string{dashboardPath: chartDashboardPath, rulesPath: chartRulesPath} {
		a, b := read(t, src), read(t, dst)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s; copy it: cp deploy/%s deploy/%s", dst, src, src, dst)
		}
	}
}

type dashboard struct {
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func TestDashboardUsesRegisteredMetrics(t *testing.T) {
	known := registeredMetrics(t)
	var d dashboard
	if err := json.Unmarshal(read(t, dashboardPath), &d); err != nil {
		t.Fatalf("decode %s: %v", dashboardPath, err)
	}
	if d.UID != "coc-bridge" {
		t.Errorf("dashboard uid = %q, want the stable uid coc-bridge", d.UID)
	}
	used := map[string]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Title == "" || p.Description == "" || p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("panel %q needs a title, a description and a unit", p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no queries", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.Contains(tg.Expr, "rate(") && !strings.Contains(tg.Expr, "[$__rate_interval]") {
					t.Errorf("panel %q: %s should use $__rate_interval", p.Title, tg.Expr)
				}
				for _, m := range metricNames(tg.Expr) {
					used[m] = true
					if !known.allows(m) {
						t.Errorf("panel %q uses %s, which no package registers", p.Title, m)
					}
				}
			}
		}
	}
	walk(d.Panels)
	for _, m := range []string{"coc_bridge_outbox_items", "coc_bridge_outbox_oldest_age_seconds",
		"coc_bridge_decisions_total", "coc_bridge_deliveries_total", "coc_bridge_coc_requests_total",
		"coc_bridge_coc_request_duration_seconds_bucket", "coc_bridge_ready", "coc_bridge_dead_letters_total"} {
		if !used[m] {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestRulesUseRegisteredMetricsAndLinkTheRunbook(t *testing.T) {
	known := registeredMetrics(t)
	var rf ruleFile
	if err := yaml.Unmarshal(read(t, rulesPath), &rf); err != nil {
		t.Fatalf("decode %s: %v", rulesPath, err)
	}
	runbook := string(read(t, runbookPath))
	var alerts []string
	for _, g := range rf.Groups {
		if g.Name != "coc-bridge" {
			t.Errorf("group %q, want coc-bridge", g.Name)
		}
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			for _, m := range metricNames(r.Expr) {
				if m != "up" && !known.allows(m) {
					t.Errorf("alert %s uses %s, which no package registers", r.Alert, m)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
			if want := runbookURLPrefix + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
				t.Errorf("alert %s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
			if !strings.Contains(runbook, "\n### Runbook: "+r.Alert+"\n") {
				t.Errorf("%s has no section \"### Runbook: %s\" (the anchor of its runbook_url)", runbookPath, r.Alert)
			}
		}
	}
	for _, want := range []string{"CocBridgeDown", "CocBridgeNotReady", "CocBridgeCOCAuthFailing",
		"CocBridgeDeadLetters", "CocBridgeOutboxStuck", "CocBridgeDeliveryFailuresRising",
		"CocBridgeCOCThrottled", "CocBridgeWebhookRejected"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s is missing", want)
		}
	}
}

// metricSet holds the metric names the code registers; histograms also allow their
// _bucket, _sum and _count series.
type metricSet struct{ plain, histograms map[string]bool }

func (s metricSet) allows(name string) bool {
	if s.plain[name] || s.histograms[name] {
		return true
	}
	if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && s.histograms[base] {
			return true
		}
	}
	return false
}

// registeredMetrics reads the Name of every prometheus.*Opts literal, and the name
// given to every metric constructor, in the non-test sources of bridge/, client/ and
// cmd/.
func registeredMetrics(t *testing.T) metricSet {
	t.Helper()
	s := metricSet{plain: map[string]bool{}, histograms: map[string]bool{}}
	fset := token.NewFileSet()
	for _, dir := range []string{"../bridge", "../client", "../cmd"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				// client_golang's version collector: NewCollector("coc_bridge")
				// registers coc_bridge_build_info.
				if call, ok := n.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewCollector" && len(call.Args) == 1 {
						if bl, ok := call.Args[0].(*ast.BasicLit); ok && bl.Kind == token.STRING {
							if prog, err := strconv.Unquote(bl.Value); err == nil {
								s.plain[prog+"_build_info"] = true
							}
						}
					}
				}
				// The packages' metric constructors: counterVec(f, "name",
				// "help", labels...) and the like.
				if call, ok := n.(*ast.CallExpr); ok && len(call.Args) >= 2 {
					if id, ok := call.Fun.(*ast.Ident); ok {
						if bl, ok := call.Args[1].(*ast.BasicLit); ok && bl.Kind == token.STRING {
							if name, err := strconv.Unquote(bl.Value); err == nil {
								switch id.Name {
								case "counter", "counterVec", "gauge", "gaugeVec":
									s.plain[name] = true
								case "histogram", "histogramVec":
									s.histograms[name] = true
								}
							}
						}
					}
				}
				lit, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				sel, ok := lit.Type.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
					return true
				}
				for _, e := range lit.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Name" {
						continue
					}
					bl, ok := kv.Value.(*ast.BasicLit)
					if !ok || bl.Kind != token.STRING {
						continue
					}
					name, err := strconv.Unquote(bl.Value)
					if err != nil {
						continue
					}
					if sel.Sel.Name == "HistogramOpts" {
						s.histograms[name] = true
					} else {
						s.plain[name] = true
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatalf("scan %s: %v", dir, err)
		}
	}
	if len(s.plain)+len(s.histograms) == 0 {
		t.Fatal("found no metric names in bridge/, client/ and cmd/")
	}
	return s
}

var (
	metricNameRE = regexp.MustCompile(`\b(coc_bridge_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+|up)\b`)
	quotedRE     = regexp.MustCompile(`"[^"]*"`)
	groupingRE   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
)

// metricNames returns the metric names in a PromQL expression. Quoted strings and
// grouping label lists are removed first, so label values and names are not mistaken
// for metrics.
func metricNames(expr string) []string {
	expr = quotedRE.ReplaceAllString(expr, `""`)
	expr = groupingRE.ReplaceAllString(expr, "")
	var out []string
	for _, m := range metricNameRE.FindAllString(expr, -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestREADMEListsEveryMetric keeps the README's metric table (the operator's reference)
// equal to the set of metrics the code registers.
func TestREADMEListsEveryMetric(t *testing.T) {
	known := registeredMetrics(t)
	readme := string(read(t, "../README.md"))
	begin, end := strings.Index(readme, "<!-- metrics-table:begin -->"), strings.Index(readme, "<!-- metrics-table:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md lacks the metrics-table markers")
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(readme[begin:end], "\n") {
		if m := readmeMetricRE.FindStringSubmatch(line); m != nil {
			if listed[m[1]] {
				t.Errorf("README.md lists %s twice", m[1])
			}
			listed[m[1]] = true
			if !known.plain[m[1]] && !known.histograms[m[1]] {
				t.Errorf("README.md lists %s, which no package registers", m[1])
			}
		}
	}
	for _, set := range []map[string]bool{known.plain, known.histograms} {
		for name := range set {
			if !listed[name] {
				t.Errorf("%s is registered but missing from the README's metric table", name)
			}
		}
	}
}

var readmeMetricRE = regexp.MustCompile("^\\| `(coc_bridge_[a-z0-9_]+)` \\|")
