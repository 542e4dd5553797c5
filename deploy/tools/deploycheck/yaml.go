package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// object is one decoded Kubernetes manifest or YAML document.
type object = map[string]any

// readDocs decodes every non-empty YAML document of a (multi-document) file.
func readDocs(path string) ([]object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []object
	for {
		var d object
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

func readDoc(path string) (object, error) {
	docs, err := readDocs(path)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: want one YAML document, found %d", path, len(docs))
	}
	return docs[0], nil
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// get walks a path of map keys and list indexes ("spec.template.spec.containers").
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(object)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, path string) string {
	s, _ := get(v, path).(string)
	return s
}

func list(v any, path string) []any {
	l, _ := get(v, path).([]any)
	return l
}

func name(o object) string {
	return fmt.Sprintf("%s %s", str(o, "kind"), str(o, "metadata.name"))
}
