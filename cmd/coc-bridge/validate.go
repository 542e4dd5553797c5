package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

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
	add(c.validateTLS())
	add(c.validateWebhookAuth())
	add(c.positive("COC_BRIDGE_MAX_BODY_BYTES", c.MaxBodyBytes > 0))
	add(c.positive("COC_BRIDGE_SHUTDOWN_GRACE", c.ShutdownGrace > 0))

	add(c.validateCOC())

	add(c.validateStore())
	add(c.positive("COC_BRIDGE_STORE_TIMEOUT", c.StoreTimeout > 0))
	add(c.positive("COC_BRIDGE_WORKERS", c.Workers > 0))
	add(c.positive("COC_BRIDGE_RETRY_MAX_DELAY", c.RetryMaxDelay > 0))
	add(c.positive("COC_BRIDGE_REFRESH_INTERVAL", c.RefreshInterval > 0))
	switch {
	case c.Lease <= 0:
		add(c.positive("COC_BRIDGE_LEASE", false))
	case c.Lease < 2*c.COCTimeout:
		add(c.invalid("COC_BRIDGE_LEASE", fmt.Sprintf(
			"must be at least twice COC_BRIDGE_COC_TIMEOUT (%s): an attempt is cut off at half the lease", c.COCTimeout)))
	}
	if len(nonEmpty(c.TerminalStatuses)) == 0 {
		add(errors.New("COC_BRIDGE_TERMINAL_STATUSES is empty: name at least one COC work_flow_status"))
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

// secretSource checks that a value and its _FILE variant are not both set
// and that the file, when named, is readable and not empty.
func (c *config) secretSource(name string) error {
	file := name + "_FILE"
	if !c.set(file) {
		return nil
	}
	if c.set(name) {
		return bothSet(name)
	}
	_, err := readSecretFile(file, c.raw[file])
	return err
}

func (c *config) validateTLS() error {
	cert, key := c.TLSCertFile, c.TLSKeyFile
	switch {
	case cert == "" && key == "":
		return nil
	case key == "":
		return errors.New("COC_BRIDGE_TLS_CERT_FILE is set but COC_BRIDGE_TLS_KEY_FILE is not: set both to serve HTTPS")
	case cert == "":
		return errors.New("COC_BRIDGE_TLS_KEY_FILE is set but COC_BRIDGE_TLS_CERT_FILE is not: set both to serve HTTPS")
	}
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		return fmt.Errorf("COC_BRIDGE_TLS_CERT_FILE=%q, COC_BRIDGE_TLS_KEY_FILE=%q: %w", cert, key, err)
	}
	return nil
}

func (c *config) validateWebhookAuth() error {
	errs := []error{
		c.secretSource("COC_BRIDGE_WEBHOOK_BEARER_TOKEN"),
		c.secretSource("COC_BRIDGE_WEBHOOK_BASIC_PASSWORD"),
	}
	hasPassword := c.WebhookBasicPassword != "" || c.WebhookBasicPasswordFile != ""
	switch {
	case c.WebhookBasicUser != "" && !hasPassword:
		errs = append(errs, errors.New("COC_BRIDGE_WEBHOOK_BASIC_USER is set but COC_BRIDGE_WEBHOOK_BASIC_PASSWORD (or _FILE) is not"))
	case c.WebhookBasicUser == "" && hasPassword:
		errs = append(errs, errors.New("COC_BRIDGE_WEBHOOK_BASIC_PASSWORD (or _FILE) is set but COC_BRIDGE_WEBHOOK_BASIC_USER is not"))
	}
	return errors.Join(errs...)
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
	return fmt.Errorf("%s=%q: %s", name, c.value(name), want)
}

// mappingConfig overlays the env values on mapping.DefaultConfig, then the
// mapping file on that, and validates the result. Problems with a variable
// in skip (already reported) are left out.
func (c *config) mappingConfig(skip map[string]bool) (mapping.Config, error) {
	m := mapping.DefaultConfig()
	m.Instance = c.Instance
	m.DedupeBy = mapping.KeyMode(c.DedupeBy)
	m.Fields.TicketType = c.TicketType
	m.Fields.EnterpriseProject = c.EnterpriseProject
	m.Fields.VirtualScheduleType = c.VirtualScheduleType
	m.Fields.IssueContactPerson = c.IssueContactPerson
	m.Fields.ScheduleScenes = c.ScheduleScenes
	m.Fields.VirtualScheduleRole = c.VirtualScheduleRole
	m.Fields.Source = c.Source
	m.SeverityLabel = c.SeverityLabel
	m.DefaultLevel = c.DefaultLevel
	m.RegionLabels = nonEmpty(c.RegionLabels)
	m.DefaultRegion = c.DefaultRegion
	if c.MappingFile != "" {
		data, err := os.ReadFile(c.MappingFile)
		if err != nil {
			return m, fmt.Errorf("COC_BRIDGE_MAPPING_FILE: %w", err)
		}
		if m, err = mapping.ParseConfigYAML(data, m); err != nil {
			return m, fmt.Errorf("COC_BRIDGE_MAPPING_FILE=%q: %w", c.MappingFile, err)
		}
	}
	if err := m.Validate(); err != nil {
		return m, c.nameMappingVariables(err, skip)
	}
	return m, nil
}

// nameMappingVariables rewrites mapping's "setting: problem" lines so that
// each names the variable (or the mapping file) that sets the setting.
func (c *config) nameMappingVariables(err error, skip map[string]bool) error {
	vars := map[string]string{}
	for _, v := range envVars() {
		if v.Mapping != "" {
			vars[v.Mapping] = v.Name
		}
	}
	var lines []string
	for _, line := range strings.Split(err.Error(), "\n") {
		setting, problem, _ := strings.Cut(line, ": ")
		name, known := vars[strings.SplitN(setting, "[", 2)[0]]
		switch {
		case skip[name]:
		case known && c.MappingFile == "":
			lines = append(lines, name+": "+problem)
		case known:
			lines = append(lines, fmt.Sprintf("%s (or %s in COC_BRIDGE_MAPPING_FILE): %s", name, setting, problem))
		case c.MappingFile != "":
			lines = append(lines, fmt.Sprintf("COC_BRIDGE_MAPPING_FILE=%q: %s", c.MappingFile, line))
		default:
			lines = append(lines, "mapping: "+line)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(lines, "\n"))
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
