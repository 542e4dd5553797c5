package main

import (
	"flag"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// notes checks the NOTES.txt of a release, rendered into a ConfigMap's NOTES.txt key by
// the CI: it must print the receiver snippet with the release's URL, and the snippet is
// written out as a complete Alertmanager configuration for `amtool check-config`.
func notes(args []string) error {
	fs := flag.NewFlagSet("notes", flag.ContinueOnError)
	url := fs.String("url", "", "webhook URL the snippet must use")
	bearer := fs.Bool("bearer", false, "the snippet must configure bearer authorization")
	out := fs.String("out", "", "write the snippet as an alertmanager.yml here")
	file, err := parse(fs, args, "notes -url URL -out FILE RENDERED.yaml", url, out)
	if err != nil {
		return err
	}
	docs, err := readDocs(file)
	if err != nil {
		return err
	}
	var text string
	for _, d := range docs {
		// Read the key directly: get() would split "NOTES.txt" at the dot.
		if data, ok := get(d, "data").(object); ok {
			if s, ok := data["NOTES.txt"].(string); ok {
				text = s
			}
		}
	}
	if text == "" {
		return fmt.Errorf("%s: no rendered NOTES.txt", fs.Arg(0))
	}
	start := strings.Index(text, "receivers:")
	if start < 0 {
		return fmt.Errorf("NOTES.txt has no receivers: snippet:\n%s", text)
	}
	snippet := text[start:]
	if end := strings.Index(snippet, "\n\n"); end >= 0 {
		snippet = snippet[:end]
	}
	var cfg struct {
		Receivers []struct {
			Name           string           `yaml:"name"`
			WebhookConfigs []map[string]any `yaml:"webhook_configs"`
		} `yaml:"receivers"`
	}
	if err := yaml.Unmarshal([]byte(snippet), &cfg); err != nil {
		return fmt.Errorf("NOTES.txt receiver snippet is not YAML: %w\n%s", err, snippet)
	}
	var p problems
	if len(cfg.Receivers) != 1 || len(cfg.Receivers[0].WebhookConfigs) != 1 {
		p.addf("want one receiver with one webhook_config in:\n%s", snippet)
	} else {
		wc := cfg.Receivers[0].WebhookConfigs[0]
		if wc["url"] != *url {
			p.addf("webhook url is %v, want %s", wc["url"], *url)
		}
		if wc["send_resolved"] != true {
			p.addf("send_resolved must be true")
		}
		if _, ok := wc["max_alerts"]; !ok {
			p.addf("max_alerts must be set")
		}
		auth := get(wc, "http_config.authorization")
		if *bearer && (auth == nil || str(auth, "type") != "Bearer" || str(auth, "credentials_file") == "") {
			p.addf("http_config.authorization with type Bearer and a credentials_file expected")
		}
		if !*bearer && auth != nil {
			p.addf("http_config.authorization printed although the webhook has no token")
		}
	}
	if err := p.err("NOTES.txt"); err != nil {
		return err
	}
	var full map[string]any
	if err := yaml.Unmarshal([]byte(snippet), &full); err != nil {
		return fmt.Errorf("decode snippet: %w", err)
	}
	full["route"] = map[string]any{"receiver": cfg.Receivers[0].Name}
	if err := writeYAML(*out, full); err != nil {
		return err
	}
	fmt.Printf("deploycheck: NOTES.txt prints the receiver for %s\n", *url)
	return nil
}
