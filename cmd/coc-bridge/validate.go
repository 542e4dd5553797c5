package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// validate checks every setting and returns every problem at once, one line
// each, naming the variable, its value (never for secrets) and what is
// allowed.
func (c *config) validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(c.oneOf("COC_BRIDGE_LOG_LEVEL", c.LogLevel, "debug", "info", "warn", "error"))
	add(c.oneOf("COC_BRIDGE_LOG_FORMAT", c.LogFormat, "json", "console"))
	if _, _, err := net.SplitHostPort(c.ListenAddress); err != nil {
		add(c.invalid("COC_BRIDGE_LISTEN_ADDRESS", "must be host:port, such as :9096 or 127.0.0.1:9096"))
	}
	if c.WebConfigFile != "" {
		if err := bridge.ValidateWebConfig(c.WebConfigFile); err != nil {
			add(fmt.Errorf("COC_BRIDGE_WEB_CONFIG_FILE=%q: %w", c.WebConfigFile, errors.Unwrap(err)))
		}
	}
	add(c.secretSource("COC_BRIDGE_WEBHOOK_BEARER_TOKEN"))
	add(c.positive("COC_BRIDGE_MAX_BODY_BYTES", c.MaxBodyBytes > 0))
	add(c.positive("COC_BRIDGE_SHUTDOWN_GRACE", c.ShutdownGrace > 0))

	add(c.validateCOC())

	add(c.validateStore())
	add(c.positive("COC_BRIDGE_STORE_TIMEOUT", c.StoreTimeout > 0))
	add(c.positive("COC_BRIDGE_WORKERS", c.Workers > 0))
	add(c.positive("COC_BRIDGE_RETRY_MAX_DELAY", c.RetryMaxDelay > 0))
	add(c.positive("COC_BRIDGE_REFRESH_INTERVAL", c.RefreshInterval > 0))
	add(c.positive("COC_BRIDGE_REFRESH_MAX_INTERVAL", c.RefreshMaxInterval > 0))
	if !(c.RefreshQPSShare > 0 && c.RefreshQPSShare <= 1) {
		add(c.invalid("COC_BRIDGE_REFRESH_QPS_SHARE", "must be above 0 and at most 1"))
	}
	switch {
	case c.Lease <= 0:
		add(c.positive("COC_BRIDGE_LEASE", false))
	case c.Lease < 2*c.COCTimeout:
		add(c.invalid("COC_BRIDGE_LEASE", fmt.Sprintf(
			"must be at least twice COC_BRIDGE_COC_TIMEOUT (%s): an attempt is cut off at half the lease", c.COCTimeout)))
	}
	if _, err := bridge.NewTerminalStatuses(c.TerminalStatuses); err != nil {
		add(c.invalid("COC_BRIDGE_TERMINAL_STATUSES", err.Error()))
	}
	add(c.oneOf("COC_BRIDGE_DEDUPE_BY", c.DedupeBy,
		string(mapping.KeyByGroup), string(mapping.KeyByAlert), string(mapping.KeyByGroupKey)))
	return errors.Join(errs...)
}

func (c *config) validateCOC() error {
	var errs []error
	if _, err := client.ResolveEndpoint(c.COCEndpoint); err != nil {
		errs = append(errs, fmt.Errorf("COC_BRIDGE_COC_ENDPOINT=%q: %w", redactURL(c.COCEndpoint), err))
	}
	for _, name := range []string{"COC_BRIDGE_COC_ACCESS_KEY", "COC_BRIDGE_COC_SECRET_KEY", "COC_BRIDGE_COC_SECURITY_TOKEN"} {
		errs = append(errs, c.secretSource(name))
	}
	hasAK := c.COCAccessKey != "" || c.COCAccessKeyFile != ""
	hasSK := c.COCSecretKey != "" || c.COCSecretKeyFile != ""
	if c.needs == needAll && !c.DryRun && (!hasAK || !hasSK) {
		errs = append(errs, errors.New("COC_BRIDGE_COC_ACCESS_KEY (or _FILE) and COC_BRIDGE_COC_SECRET_KEY (or _FILE) are required unless COC_BRIDGE_DRY_RUN=true"))
	}
	errs = append(errs,
		c.positive("COC_BRIDGE_COC_QPS", c.COCQPS > 0),
		c.positive("COC_BRIDGE_COC_TIMEOUT", c.COCTimeout > 0))
	if c.COCBurst < 1 {
		errs = append(errs, c.invalid("COC_BRIDGE_COC_BURST", "must be >= 1"))
	}
	return errors.Join(errs...)
}

// secretSource checks that the file of a _FILE variable, when named, is
// readable and not empty (resolve has checked that the value and the file
// are not both set).
func (c *config) secretSource(name string) error {
	file := name + "_FILE"
	if !c.set(file) {
		return nil
	}
	_, err := readSecretFile(file, c.raw[file])
	return err
}

func (c *config) validateStore() error {
	if c.Store == "" {
		return errors.New("COC_BRIDGE_STORE is empty: set a SQLite file path or a postgres:// URL")
	}
	if !isPostgres(c.Store) {
		return nil
	}
	if _, err := url.Parse(c.Store); err != nil {
		// url.Parse quotes the input in its error: do not repeat it, it may hold a password.
		return errors.New("COC_BRIDGE_STORE: not a valid postgres:// URL")
	}
	return nil
}

// isPostgres reports whether a COC_BRIDGE_STORE value names PostgreSQL.
func isPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// redactStore hides the password of a PostgreSQL URL.
func redactStore(store string) string {
	if !isPostgres(store) {
		return store
	}
	return redactURL(store)
}

// redactURL hides the password of a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil && strings.Contains(s, "@"):
		return "<invalid URL>"
	case err != nil:
		return s
	}
	return u.Redacted()
}

func (c *config) oneOf(name, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return c.invalid(name, "must be one of "+strings.Join(allowed, ", "))
}

func (c *config) positive(name string, ok bool) error {
	if ok {
		return nil
	}
	return c.invalid(name, "must be > 0")
}

func (c *config) invalid(name, want string) error {
	c.reported[name] = true
	return fmt.Errorf("%s=%q: %s", name, c.value(name), want)
}

// mappingConfig overlays the env values on mapping.DefaultConfig, then the
// mapping file on that, and validates the result. Problems with a variable
// validate already reported are left out.
func (c *config) mappingConfig() (mapping.Config, error) {
	m := mapping.DefaultConfig()
	c.applyMappingVariables(&m)
	if c.MappingFile != "" {
		data, err := os.ReadFile(c.MappingFile)
		if err != nil {
			return m, fmt.Errorf("COC_BRIDGE_MAPPING_FILE: %w", err)
		}
		if m, err = mapping.ParseConfigYAML(data, m); err != nil {
			return m, fmt.Errorf("COC_BRIDGE_MAPPING_FILE=%q: %w", c.MappingFile, err)
		}
	}
	return m, c.nameSettings(m.Validate())
}

// applyMappingVariables sets, for every variable with a mapping tag, the
// mapping.Config setting the tag names (its yaml path, such as
// fields.ticket_type). The tag is the one place that ties a variable to a
// setting: this, the error messages and check-config all read it.
func (c *config) applyMappingVariables(m *mapping.Config) {
	rv := reflect.ValueOf(c).Elem()
	for _, v := range envVars() {
		if v.Mapping == "" {
			continue
		}
		src := rv.Field(v.Index)
		if list, ok := src.Interface().([]string); ok {
			src = reflect.ValueOf(nonEmpty(list))
		}
		dst := mappingSetting(reflect.ValueOf(m).Elem(), v.Mapping)
		dst.Set(src.Convert(dst.Type()))
	}
}

// mappingSetting returns the field of a mapping.Config value that a dotted
// yaml path names. The paths are this package's constant tags, checked by
// TestMappingTagsNameSettings: an unknown one is a programming error.
func mappingSetting(v reflect.Value, path string) reflect.Value {
	for _, key := range strings.Split(path, ".") {
		t, found := v.Type(), false
		for i := range t.NumField() {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			panic(fmt.Sprintf("mapping tag %q: no such mapping setting", path))
		}
	}
	return v
}

// nameSettings rewrites mapping's problems (one *mapping.SettingError each)
// so that each names the variable (or the mapping file) that sets the
// setting. Problems with a variable validate already reported are dropped.
func (c *config) nameSettings(err error) error {
	if err == nil {
		return nil
	}
	vars := map[string]string{}
	for _, v := range envVars() {
		if v.Mapping != "" {
			vars[v.Mapping] = v.Name
		}
	}
	var out []error
	for _, e := range joined(err) {
		var se *mapping.SettingError
		if !errors.As(e, &se) {
			out = append(out, fmt.Errorf("mapping: %w", e))
			continue
		}
		name, known := vars[strings.SplitN(se.Setting, "[", 2)[0]]
		switch {
		case c.reported[name]:
		case known && c.MappingFile == "":
			out = append(out, fmt.Errorf("%s: %s", name, se.Problem))
		case known:
			out = append(out, fmt.Errorf("%s (or %s in COC_BRIDGE_MAPPING_FILE): %s", name, se.Setting, se.Problem))
		case c.MappingFile != "":
			out = append(out, fmt.Errorf("COC_BRIDGE_MAPPING_FILE=%q: %w", c.MappingFile, se))
		default:
			out = append(out, fmt.Errorf("mapping: %w", se))
		}
	}
	return errors.Join(out...)
}

// joined returns the errors an errors.Join holds, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// nonEmpty trims the items of a comma list and drops empty ones.
func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
