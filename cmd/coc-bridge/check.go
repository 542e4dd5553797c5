package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/coc-bridge/coc-bridge/mapping"
)

func checkCommand() command {
	return command{
		name:    "check-config",
		args:    "[--payload FILE] [--probe-coc]",
		summary: "validate the environment, web config and mapping file, print the effective config",
		about: `Validate every COC_BRIDGE_* variable (an unknown one is an error), the web configuration
file and the mapping file, print the effective configuration (secrets shown as <secret> or
<unset>, with where each value came from), the effective mapping, and the ticket the built-in
sample notification would produce. The templates are rendered against a set of samples (one
alert, many alerts, resolved, missing labels and annotations, a 1 MiB label) and against
--payload FILE. Secret files others may read are warned about. --probe-coc makes one harmless
signed call to COC (a ticket list with a filter that matches nothing) to check the endpoint
and the credentials. Exits 0 when the configuration is valid, 2 when it is not, and 1 when
the probe fails. Without --probe-coc it contacts neither COC nor the store.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			payload := fs.String("payload", "", "also render this webhook body: a file, or - for stdin")
			probe := fs.Bool("probe-coc", false, "make one harmless signed call to COC to check the endpoint and credentials")
			if err := a.parse(fs, args); err != nil {
				return err
			}
			cfg, err := loadConfig(ctx, a.env, needAll)
			if err != nil {
				return err
			}
			var body []byte
			if *payload != "" {
				if body, err = readPayload(*payload, a.stdin); err != nil {
					return err
				}
			}
			if err := a.checkConfig(cfg, body); err != nil {
				return err
			}
			if *probe {
				return a.probeCOC(ctx, cfg)
			}
			return nil
		},
	}
}

func (a *app) checkConfig(cfg *config, payload []byte) error {
	w := a.stdout
	fmt.Fprintln(w, "# Environment (secrets redacted)")
	cfg.printEffective(w)
	fmt.Fprintln(w, "\n# Effective mapping (defaults < COC_BRIDGE_* variables < COC_BRIDGE_MAPPING_FILE)")
	b, err := yaml.Marshal(cfg.mapping)
	if err != nil {
		return fmt.Errorf("encode mapping: %w", err)
	}
	_, _ = w.Write(b)
	mapper, err := mapping.New(cfg.mapping)
	if err != nil {
		return configError{fmt.Errorf("mapping: %w", err)}
	}
	out, err := renderNotification(mapper, sampleNotification(sampleOptions{}))
	if err != nil {
		return configError{fmt.Errorf("render the sample notification: %w", err)}
	}
	fmt.Fprintln(w, "\n# Ticket rendered from the sample notification (coc-bridge render --payload FILE renders yours)")
	if err := writeJSON(w, out); err != nil {
		return err
	}
	if err := renderSamples(w, mapper, payload); err != nil {
		return configError{err}
	}
	warnings := cfg.warnings
	for _, f := range looseSecretFiles(cfg) {
		warnings = append(warnings, fmt.Sprintf("%s=%q (mode %#o): %s", f.variable, f.path, f.mode, looseFileAdvice))
	}
	if len(warnings) > 0 {
		fmt.Fprintln(w, "\n# Warnings: COC rejects tickets until an owner is set (they are dead-lettered, replay them after fixing); secret files others may read")
		for _, line := range warnings {
			fmt.Fprintln(w, "warning: "+line)
		}
		fmt.Fprintln(w, "\nconfiguration OK, with warnings")
		return nil
	}
	fmt.Fprintln(w, "\nconfiguration OK")
	return nil
}

// renderSamples renders the templates against templateSamples and, when
// given, the operator's payload, prints one line per sample and returns
// every failure (a ticket of that shape would be dead-lettered).
func renderSamples(w io.Writer, mapper *mapping.Mapper, payload []byte) error {
	samples := templateSamples(time.Now())
	if payload != nil {
		samples = append(samples, namedSample{name: "--payload", body: payload})
	}
	fmt.Fprintf(w, "\n# Templates rendered against %d notifications\n", len(samples))
	var errs []error
	for _, s := range samples {
		if _, err := renderNotification(mapper, s.body); err != nil {
			fmt.Fprintf(w, "FAIL  %s\n", s.name)
			errs = append(errs, fmt.Errorf("templates fail on the sample %q (such tickets would be dead-lettered): %w", s.name, err))
			continue
		}
		fmt.Fprintf(w, "ok    %s\n", s.name)
	}
	return errors.Join(errs...)
}

// printEffective writes one line per variable: name, effective value and
// where it came from. A _FILE variant is folded into its variable's line.
// Secrets are never printed.
func (c *config) printEffective(w io.Writer) {
	vars := envVars()
	names := map[string]bool{}
	for _, v := range vars {
		names[v.Name] = true
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rv := reflect.ValueOf(c).Elem()
	for _, v := range vars {
		if base, ok := strings.CutSuffix(v.Name, "_FILE"); ok && names[base] {
			continue
		}
		value := formatValue(rv.Field(v.Index))
		source := "default"
		switch file := c.raw[v.Name+"_FILE"]; {
		case file != "":
			source = "file " + file
			value = "<from file>"
		case c.set(v.Name):
			source = "env"
		case v.Name == "COC_BRIDGE_REPLICA_ID":
			source = "default (hostname)"
		case v.Default == "":
			source = "-"
		}
		switch {
		case v.Secret && source == "-":
			value = "<unset>"
		case v.Secret:
			value = "<secret>"
		case v.Name == "COC_BRIDGE_STORE" && source != "default":
			value = redactStore(c.Store)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, value, source)
	}
	_ = tw.Flush()
}

func formatValue(v reflect.Value) string {
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}

// envHelp lists the variables for `serve --help`.
func envHelp() string {
	var b strings.Builder
	for _, v := range envVars() {
		def := v.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  %s (default %s)\n        %s\n", v.Name, def, v.Help)
	}
	return b.String()
}
