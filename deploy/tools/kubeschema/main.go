// Command kubeschema writes strict, standalone JSON schemas for kubeconform, offline.
//
// It reads the OpenAPI v2 document of a pinned k8s.io/kubernetes module and the
// ServiceMonitor, PrometheusRule, PodMonitor and Alertmanager CRDs of a pinned
// prometheus-operator release, and writes one file per kind named for kubeconform's
// `-schema-location DIR/{{.ResourceKind}}{{.KindSuffix}}.json`, for example
// deployment-apps-v1.json or servicemonitor-monitoring-v1.json.
//
// The CRDs are generated the way prometheus-operator generates the ones it ships: by a
// pinned controller-gen over the operator's API types, the module
// github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring. That module is
// published for every release, while the operator's root module (which holds the
// generated CRD files) is not available from the module proxy for recent releases. The
// Go module proxy is the only network access.
//
// The schemas are strict: every object that lists its properties rejects unknown ones,
// so a misspelled field fails validation. Int-or-string fields accept either type,
// quantities accept strings and numbers, and every $ref points into the file's own
// definitions, so each file stands alone.
//
// Usage:
//
//	go run ./kubeschema -kubernetes v1.36.3 -prometheus-operator v0.95.2 -controller-gen v0.23.0 -out DIR
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

const (
	refPrefix      = "#/definitions/"
	intOrStringDef = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	quantityDef    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	objectMetaDef  = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
)

const (
	monitoringModule = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"
	controllerGen    = "sigs.k8s.io/controller-tools/cmd/controller-gen"
)

// crdFiles are the CRDs the chart renders objects of, as controller-gen names them.
var crdFiles = []string{
	"monitoring.coreos.com_servicemonitors.yaml",
	"monitoring.coreos.com_prometheusrules.yaml",
	"monitoring.coreos.com_podmonitors.yaml",
	"monitoring.coreos.com_alertmanagers.yaml",
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kubeschema:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kubeschema", flag.ContinueOnError)
	kubeVersion := fs.String("kubernetes", "", "version of the k8s.io/kubernetes module whose swagger.json is used")
	promOpVersion := fs.String("prometheus-operator", "", "prometheus-operator release whose API types ("+monitoringModule+") the CRDs are generated from")
	genVersion := fs.String("controller-gen", "", "version of sigs.k8s.io/controller-tools whose controller-gen generates the CRDs")
	out := fs.String("out", "", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeVersion == "" || *promOpVersion == "" || *genVersion == "" || *out == "" {
		return errors.New("-kubernetes, -prometheus-operator, -controller-gen and -out are required")
	}

	kubeDir, err := moduleDir("k8s.io/kubernetes", *kubeVersion)
	if err != nil {
		return err
	}
	apisDir, err := moduleDir(monitoringModule, *promOpVersion)
	if err != nil {
		return err
	}

	tmp := *out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clean %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}

	defs, err := readSwagger(filepath.Join(kubeDir, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		return err
	}
	n, err := writeKubernetesSchemas(defs, tmp)
	if err != nil {
		return err
	}
	crdDir := *out + ".crds"
	if err := generateCRDs(apisDir, *genVersion, crdDir); err != nil {
		return err
	}
	defer os.RemoveAll(crdDir)
	for _, f := range crdFiles {
		m, err := writeCRDSchemas(filepath.Join(crdDir, f), defs, tmp)
		if err != nil {
			return err
		}
		n += m
	}

	if err := os.RemoveAll(*out); err != nil {
		return fmt.Errorf("clean %s: %w", *out, err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("move schemas into place: %w", err)
	}
	fmt.Printf("kubeschema: wrote %d schemas to %s\n", n, *out)
	return nil
}

// moduleDir downloads module@version through the module proxy and returns its directory
// in the module cache. It runs outside any module so no go.mod is touched.
func moduleDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s%s", module, version, err, stderr.String(), b)
	}
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return "", fmt.Errorf("decode go mod download output for %s: %w", module, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	return info.Dir, nil
}

// generateCRDs runs controller-gen at version over a writable copy of the monitoring
// API module in apisDir (the module cache is read-only) and leaves the CRDs of the
// monitoring.coreos.com/v1 types in dir.
func generateCRDs(apisDir, version, dir string) error {
	src := dir + ".src"
	for _, d := range []string{src, dir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("clean %s: %w", d, err)
		}
	}
	defer os.RemoveAll(src)
	if err := os.CopyFS(src, os.DirFS(apisDir)); err != nil {
		return fmt.Errorf("copy %s: %w", apisDir, err)
	}
	cmd := exec.Command("go", "run", controllerGen+"@"+version,
		"crd:crdVersions=v1", "paths=./v1/...", "output:crd:dir="+dir)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("controller-gen %s over %s: %w: %s", version, apisDir, err, b)
	}
	return nil
}

func readSwagger(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read swagger: %w", err)
	}
	var doc struct {
		Definitions map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if len(doc.Definitions) == 0 {
		return nil, fmt.Errorf("%s has no definitions", path)
	}
	for name, d := range doc.Definitions {
		doc.Definitions[name] = normalize(d)
	}
	// Kubernetes accepts both types for these, the swagger says only "string".
	doc.Definitions[intOrStringDef] = map[string]any{
		"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}},
	}
	doc.Definitions[quantityDef] = map[string]any{
		"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}},
	}
	return doc.Definitions, nil
}

type gvk struct {
	Group, Version, Kind string
}

func writeKubernetesSchemas(defs map[string]any, dir string) (int, error) {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	written := map[string]string{}
	for _, name := range names {
		d, _ := defs[name].(map[string]any)
		for _, k := range kinds(d) {
			file := fileName(k)
			// The same kind can be listed by several definitions (e.g. meta/v1
			// DeleteOptions under every group): keep the first, stable by name.
			if _, ok := written[file]; ok {
				continue
			}
			written[file] = name
			schema := map[string]any{
				"$schema": "http://json-schema.org/draft-07/schema#",
				"allOf":   []any{map[string]any{"$ref": refPrefix + name}},
			}
			closure := map[string]any{}
			collect(defs, name, closure)
			schema["definitions"] = closure
			if err := writeJSON(filepath.Join(dir, file), schema); err != nil {
				return 0, err
			}
		}
	}
	if len(written) == 0 {
		return 0, errors.New("no kinds found in swagger definitions")
	}
	return len(written), nil
}

// kinds reads x-kubernetes-group-version-kind, which normalize keeps.
func kinds(d map[string]any) []gvk {
	list, _ := d["x-kubernetes-group-version-kind"].([]any)
	var out []gvk
	for _, item := range list {
		m, _ := item.(map[string]any)
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		if v != "" && k != "" {
			out = append(out, gvk{Group: g, Version: v, Kind: k})
		}
	}
	return out
}

// fileName follows kubeconform's {{.ResourceKind}}{{.KindSuffix}}: the lowercase kind,
// then "-" and the first dot-separated part of the group (for the core group: nothing),
// then "-" and the version.
func fileName(k gvk) string {
	suffix := "-" + strings.ToLower(k.Version)
	if k.Group != "" {
		suffix = "-" + strings.ToLower(strings.Split(k.Group, ".")[0]) + suffix
	}
	return strings.ToLower(k.Kind) + suffix + ".json"
}

// collect adds name and every definition it references, transitively, to out.
func collect(defs map[string]any, name string, out map[string]any) {
	if _, ok := out[name]; ok {
		return
	}
	d, ok := defs[name]
	if !ok {
		return
	}
	out[name] = stripExtensions(d)
	walkRefs(d, func(ref string) {
		collect(defs, strings.TrimPrefix(ref, refPrefix), out)
	})
}

func walkRefs(v any, fn func(string)) {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok && strings.HasPrefix(ref, refPrefix) {
			fn(ref)
		}
		for _, c := range t {
			walkRefs(c, fn)
		}
	case []any:
		for _, c := range t {
			walkRefs(c, fn)
		}
	}
}

// normalize makes a schema strict and drops what only documents: descriptions are
// removed (the files stay small), objects with listed properties get
// additionalProperties false unless they preserve unknown fields, and int-or-string
// markers become a oneOf of both types.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			if k == "description" {
				continue
			}
			// Inside "properties" the keys are field names, not keywords.
			if k == "properties" {
				props, _ := c.(map[string]any)
				np := make(map[string]any, len(props))
				for pk, pv := range props {
					np[pk] = normalize(pv)
				}
				out[k] = np
				continue
			}
			out[k] = normalize(c)
		}
		if _, hasProps := out["properties"]; hasProps {
			_, hasAdditional := out["additionalProperties"]
			preserve, _ := out["x-kubernetes-preserve-unknown-fields"].(bool)
			if !hasAdditional && !preserve {
				out["additionalProperties"] = false
			}
		}
		if ios, _ := out["x-kubernetes-int-or-string"].(bool); ios {
			delete(out, "type")
			delete(out, "anyOf")
			delete(out, "format")
			out["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = normalize(c)
		}
		return out
	default:
		return v
	}
}

// stripExtensions removes x-kubernetes-* keys the validator does not need.
func stripExtensions(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			if strings.HasPrefix(k, "x-kubernetes-") {
				continue
			}
			if k == "properties" {
				props, _ := c.(map[string]any)
				np := make(map[string]any, len(props))
				for pk, pv := range props {
					np[pk] = stripExtensions(pv)
				}
				out[k] = np
				continue
			}
			out[k] = stripExtensions(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = stripExtensions(c)
		}
		return out
	default:
		return v
	}
}

// writeCRDSchemas writes one schema per served version of the CRD in path. The CRD's
// own "metadata: {type: object}" is replaced by the Kubernetes ObjectMeta schema, so
// labels and annotations are checked like those of built-in kinds.
func writeCRDSchemas(path string, defs map[string]any, dir string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read CRD: %w", err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return 0, fmt.Errorf("decode %s: %w", path, err)
	}
	if b, err = json.Marshal(doc); err != nil {
		return 0, fmt.Errorf("convert %s to JSON: %w", path, err)
	}
	var crd struct {
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind string `json:"kind"`
			} `json:"names"`
			Versions []struct {
				Name   string `json:"name"`
				Served bool   `json:"served"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(b, &crd); err != nil {
		return 0, fmt.Errorf("decode %s: %w", path, err)
	}
	n := 0
	for _, v := range crd.Spec.Versions {
		if !v.Served || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		schema, _ := normalize(v.Schema.OpenAPIV3Schema).(map[string]any)
		schema = stripExtensions(schema).(map[string]any)
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			return 0, fmt.Errorf("%s version %s: schema has no properties", path, v.Name)
		}
		props["metadata"] = map[string]any{"$ref": refPrefix + objectMetaDef}
		closure := map[string]any{}
		collect(defs, objectMetaDef, closure)
		schema["definitions"] = closure
		schema["$schema"] = "http://json-schema.org/draft-07/schema#"
		file := fileName(gvk{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind})
		if err := writeJSON(filepath.Join(dir, file), schema); err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: no served version with a schema", path)
	}
	return n, nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
