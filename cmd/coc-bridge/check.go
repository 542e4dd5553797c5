package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/coc-bridge/coc-bridge/mapping"
)

func checkCommand() command {
	return command{
		name:    "check-config",
		summary: "validate the environment and mapping file, print the effective config",
		about: `Validate every COC_BRIDGE_* variable and the mapping file, print the effective
configuration (secrets shown as <secret> or <unset>, with where each value came from), the
effective mapping, and the ticket the built-in sample notification would produce.
Exits 0 when the configuration is valid and 2 when it is not. It contacts neither COC nor
the store.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			if err := a.parse(fs, args); err != nil {
				return err
			}
			cfg, err := loadConfig(ctx, a.env, needAll)
			if err != nil {
				return err
			}
			return a.checkConfig(cfg)
		},
	}
}

func (a *app) checkConfig(cfg *config) error {
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
	if len(cfg.warnings) > 0 {
		fmt.Fprintln(w, "\n# Warnings: COC will reject tickets until these are set (they are dead-lettered, replay them after fixing)")
		for _, line := range cfg.warnings {
			fmt.Fprintln(w, "warning: "+line)
		}
		fmt.Fprintln(w, "\nconfiguration OK, with warnings")
		return nil
	}
	fmt.Fprintln(w, "\nconfiguration OK")
	return nil
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
		return strings.Join(v.Interface().([]string), ",")
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
