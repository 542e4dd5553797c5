package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// config holds every COC_BRIDGE_* environment variable. The names are a
// contract (README, Helm chart, tests). The help tag feeds `serve --help`
// and the README table; secret:"true" marks values that are never printed
// or logged; mapping names the mapping.Config setting (its YAML key in the
// mapping file) a variable sets. Every secret, and the access key, also has
// a _FILE variant.
type config struct {
	ListenAddress          string        `env:"COC_BRIDGE_LISTEN_ADDRESS,default=:9096" help:"HTTP listen address (webhook, metrics, health, ledger)"`
	WebConfigFile          string        `env:"COC_BRIDGE_WEB_CONFIG_FILE" help:"web configuration file of Prometheus and its exporters (exporter-toolkit): TLS, client certificates, basic auth with bcrypt hashes, HTTP/2, headers; read again at every request and TLS handshake. Its basic auth protects every endpoint but /-/healthy and /-/ready (and the webhook when it has a bearer token)"`
	WebhookBearerToken     client.Secret `env:"COC_BRIDGE_WEBHOOK_BEARER_TOKEN" secret:"true" help:"bearer token the webhook requires (Authorization: Bearer ..., Alertmanager's http_config.authorization); the web configuration's basic auth then does not apply to the webhook"`
	WebhookBearerTokenFile string        `env:"COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE" help:"file holding the webhook bearer token, re-read when it changes"`
	MaxBodyBytes           int64         `env:"COC_BRIDGE_MAX_BODY_BYTES,default=4194304" help:"largest webhook body accepted; larger ones get 413"`
	ShutdownGrace          time.Duration `env:"COC_BRIDGE_SHUTDOWN_GRACE,default=30s" help:"on SIGTERM/SIGINT, how long in-flight requests and deliveries may take"`

	COCEndpoint          string        `env:"COC_BRIDGE_COC_ENDPOINT,default=https://coc.myhuaweicloud.com" help:"COC API base URL, or a region id (cn-north-4, ap-southeast-3, eu-west-101)"`
	COCAccessKey         string        `env:"COC_BRIDGE_COC_ACCESS_KEY" help:"access key (AK) used to sign COC requests; required unless dry-run"`
	COCAccessKeyFile     string        `env:"COC_BRIDGE_COC_ACCESS_KEY_FILE" help:"file holding the access key, re-read when it changes"`
	COCSecretKey         client.Secret `env:"COC_BRIDGE_COC_SECRET_KEY" secret:"true" help:"secret key (SK); required unless dry-run"`
	COCSecretKeyFile     string        `env:"COC_BRIDGE_COC_SECRET_KEY_FILE" help:"file holding the secret key, re-read when it changes"`
	COCSecurityToken     client.Secret `env:"COC_BRIDGE_COC_SECURITY_TOKEN" secret:"true" help:"security token of temporary AK/SK (STS, agencies)"`
	COCSecurityTokenFile string        `env:"COC_BRIDGE_COC_SECURITY_TOKEN_FILE" help:"file holding the security token, re-read when it changes"`
	COCDomainID          string        `env:"COC_BRIDGE_COC_DOMAIN_ID" help:"account (domain) id sent as X-Domain-Id"`
	COCProjectID         string        `env:"COC_BRIDGE_COC_PROJECT_ID" help:"project id sent as X-Project-Id (project-scoped credentials only)"`
	COCQPS               float64       `env:"COC_BRIDGE_COC_QPS,default=5" help:"COC requests per second of the account (token bucket shared by creates, lookups and status reads; on PostgreSQL divided among the live replicas)"`
	COCBurst             int           `env:"COC_BRIDGE_COC_BURST,default=5" help:"token bucket size (on PostgreSQL divided among the live replicas, at least 1 each)"`
	COCTimeout           time.Duration `env:"COC_BRIDGE_COC_TIMEOUT,default=10s" help:"timeout of one COC HTTP attempt"`
	DryRun               bool          `env:"COC_BRIDGE_DRY_RUN,default=false" help:"render and record tickets without calling COC (ticket ids dry-run-...)"`

	Store              string        `env:"COC_BRIDGE_STORE,default=coc-bridge.db" help:"SQLite file path, or a postgres:// (postgresql://) URL for several replicas"`
	StoreFile          string        `env:"COC_BRIDGE_STORE_FILE" help:"file holding COC_BRIDGE_STORE (for a DSN with a password)"`
	StoreTimeout       time.Duration `env:"COC_BRIDGE_STORE_TIMEOUT,default=5s" help:"longest wait for one store call; a webhook the database cannot take in time gets 503, which Alertmanager retries (keep it well under Alertmanager's 10s webhook timeout)"`
	ReplicaID          string        `env:"COC_BRIDGE_REPLICA_ID" help:"this replica's name as a lease owner, unique among running replicas and stable across restarts: a restarted replica takes its own leases back at once (default: the hostname)"`
	Workers            int           `env:"COC_BRIDGE_WORKERS,default=4" help:"delivery workers"`
	Lease              time.Duration `env:"COC_BRIDGE_LEASE,default=2m" help:"how long a worker holds an outbox item; a dead replica's items are taken over after it"`
	RetryMaxDelay      time.Duration `env:"COC_BRIDGE_RETRY_MAX_DELAY,default=5m" help:"longest backoff between delivery attempts of an item"`
	RefreshInterval    time.Duration `env:"COC_BRIDGE_REFRESH_INTERVAL,default=5m" help:"how often a young open ticket's status is read back from COC; a ticket opened A ago is read every A/12 once that is longer"`
	RefreshMaxInterval time.Duration `env:"COC_BRIDGE_REFRESH_MAX_INTERVAL,default=1h" help:"the longest wait between status reads of an old open ticket (not below COC_BRIDGE_REFRESH_INTERVAL)"`
	RefreshQPSShare    float64       `env:"COC_BRIDGE_REFRESH_QPS_SHARE,default=0.5" help:"share of COC_BRIDGE_COC_QPS that status reads may use, above 0 and at most 1; they also wait while any create or action waits"`
	TerminalStatuses   []string      `env:"COC_BRIDGE_TERMINAL_STATUSES" help:"comma list of COC status codes, English status names or phases that finish a ticket besides the defaults (completed, closed, cancelled, revoked, rejected, deleted); !x keeps x open"`

	Instance            string          `env:"COC_BRIDGE_INSTANCE,default=alertmanager" mapping:"instance" help:"name of the Alertmanager cluster/environment, part of every issue key; the same on all HA peers and replicas"`
	DedupeBy            string          `env:"COC_BRIDGE_DEDUPE_BY,default=group" mapping:"dedupe_by" help:"one ticket per: group (alert group), alert (alert fingerprint) or groupkey (raw Alertmanager group key)"`
	TicketType          string          `env:"COC_BRIDGE_TICKET_TYPE,default=issues_type_1000" mapping:"fields.ticket_type" help:"COC issue type id (ticket_type)"`
	EnterpriseProject   string          `env:"COC_BRIDGE_ENTERPRISE_PROJECT,default=0" mapping:"fields.enterprise_project" help:"COC enterprise project id (enterprise_project); 0 is the default project"`
	VirtualScheduleType string          `env:"COC_BRIDGE_VIRTUAL_SCHEDULE_TYPE,default=issues_mgmt_virtual_schedule_type_2000" mapping:"fields.virtual_schedule_type" help:"who owns a ticket: issues_mgmt_virtual_schedule_type_2000 a person (COC_BRIDGE_ISSUE_CONTACT_PERSON) or _1000 a shift (COC_BRIDGE_SCHEDULE_SCENES)"`
	IssueContactPerson  string          `env:"COC_BRIDGE_ISSUE_CONTACT_PERSON" mapping:"fields.issue_contact_person" help:"COC user id of the ticket owner (issue_contact_person); COC rejects tickets without it when a person owns them (the default owner type): the daemon starts, warns, and dead-letters them until it is set"`
	ScheduleScenes      string          `env:"COC_BRIDGE_SCHEDULE_SCENES" mapping:"fields.schedule_scenes" help:"COC shift scenario id (schedule_scenes); required when a shift owns the tickets"`
	VirtualScheduleRole string          `env:"COC_BRIDGE_VIRTUAL_SCHEDULE_ROLE" mapping:"fields.virtual_schedule_role" help:"COC shift role id (virtual_schedule_role)"`
	Source              string          `env:"COC_BRIDGE_SOURCE,default=issues_mgmt_associated_type_2000" mapping:"fields.source" help:"COC source of the tickets (alarm); the issue key is sent as source_id"`
	SeverityLabel       string          `env:"COC_BRIDGE_SEVERITY_LABEL,default=severity" mapping:"severity_label" help:"alert label mapped to the ticket level"`
	DefaultLevel        string          `env:"COC_BRIDGE_DEFAULT_LEVEL,default=issues_level_3000" mapping:"default_level" help:"level of alerts whose severity is not in the level table"`
	RegionLabels        []string        `env:"COC_BRIDGE_REGION_LABELS,default=region" mapping:"region_labels" help:"comma list of alert labels giving the ticket regions"`
	DefaultRegion       string          `env:"COC_BRIDGE_DEFAULT_REGION" mapping:"default_region" help:"region used when no alert has a region label"`
	LevelUpdates        string          `env:"COC_BRIDGE_LEVEL_UPDATES,default=escalate" mapping:"level_updates" help:"which level changes of an alert group are sent to its open ticket (the ugrading_and_downgrading action, with a reason naming the alerts): escalate (only towards issues_level_1000), both, or off; level_updates per receiver in the mapping file"`
	OnResolve           string          `env:"COC_BRIDGE_ON_RESOLVE,default=record" mapping:"on_resolve" help:"what a group whose alerts all resolved does to its ticket: record (nothing is sent to COC), cancel_unaccepted (cancel the ticket while COC shows it not yet accepted; an accepted one is left alone), or submit_solution (submit a solution saying when the alerts resolved, with the submit_solution fields of the mapping file); on_resolve per receiver in the mapping file"`
	LookupSchedule      []time.Duration `env:"COC_BRIDGE_LOOKUP_SCHEDULE,default=0s,5s,30s,2m" mapping:"lookup_schedule" help:"comma list of increasing durations: after a create whose outcome is unclear (lost answer, 5xx), the key is looked up by source_id at these offsets and created again only when every lookup came back empty (COC shows new tickets late); the key stays pending meanwhile. One list-tickets call each"`
	LookupBeforeCreate  bool            `env:"COC_BRIDGE_LOOKUP_BEFORE_CREATE,default=false" mapping:"lookup_before_create" help:"look every key up by source_id before its first create and adopt the open ticket found (one more list-tickets call per new ticket), for a store restored from an old backup or a new store next to existing tickets"`
	MappingFile         string          `env:"COC_BRIDGE_MAPPING_FILE" help:"YAML mapping file (level table, templates, per-receiver fields); it overrides the env values above. Reloaded on SIGHUP and POST /-/reload; an invalid file keeps the last good one"`

	LogLevel  string `env:"COC_BRIDGE_LOG_LEVEL,default=info" help:"debug, info, warn or error"`
	LogFormat string `env:"COC_BRIDGE_LOG_FORMAT,default=json" help:"json or console"`

	// Derived while loading; no env tags.
	mapping  mapping.Config    // env over mapping.DefaultConfig, then the mapping file
	warnings []string          // valid settings COC will reject tickets for, by variable
	raw      map[string]string // env values as given, by name (never printed for secrets)
	reported map[string]bool   // variables validate found at fault
	needs    needs
}

// needs says what a command uses, so that one which only renders tickets
// or reads the store runs without COC credentials (and without a mapping).
type needs int

const (
	needAll     needs = iota // serve, check-config, demo: credentials required unless dry-run
	needMapping              // render: the mapping, no credentials
	needStore                // tickets, outbox: the store only
)

// loadConfig reads, resolves and validates the configuration. Every error
// it returns is a configError (exit code 2) naming the variable at fault.
func loadConfig(ctx context.Context, env environ, n needs) (*config, error) {
	c := &config{raw: map[string]string{}, reported: map[string]bool{}, needs: n}
	if err := env.checkNames(); err != nil {
		return nil, configError{err}
	}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: c, Lookuper: env}); err != nil {
		return nil, configError{parseError(env, err)}
	}
	for _, v := range envVars() {
		if s, ok := env.Lookup(v.Name); ok {
			if v.Secret && s != "" {
				s = "<secret>" // raw is for messages and sources: keep no secret in it
			}
			c.raw[v.Name] = s
		}
	}
	if err := c.resolve(); err != nil {
		return nil, configError{err}
	}
	// Every problem at once: the settings, then the mapping (unless the
	// command does not use it).
	err := c.validate()
	if n != needStore {
		var merr error
		c.mapping, merr = c.mappingConfig()
		err = errors.Join(err, merr)
		if w := c.nameSettings(c.mapping.WarningErrors()); w != nil {
			c.warnings = strings.Split(w.Error(), "\n")
		}
	}
	if err != nil {
		return nil, configError{err}
	}
	return c, nil
}

// resolve fills values that come from files or the host.
func (c *config) resolve() error {
	if c.ReplicaID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "coc-bridge"
		}
		c.ReplicaID = host
	}
	// A value and its _FILE variant: one source only, whichever variable.
	var errs []error
	for _, base := range fileVariants() {
		if c.set(base) && c.set(base+"_FILE") {
			errs = append(errs, fmt.Errorf("%s and %s_FILE are both set: set only one", base, base))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if c.StoreFile != "" {
		s, err := readSecretFile("COC_BRIDGE_STORE_FILE", c.StoreFile)
		if err != nil {
			return err
		}
		c.Store = s
	}
	return nil
}

// set reports whether the variable was given a non-empty value.
func (c *config) set(name string) bool { return c.raw[name] != "" }

// value is a variable's value as given, or its default: what error messages quote.
func (c *config) value(name string) string {
	if s, ok := c.raw[name]; ok {
		return s
	}
	for _, v := range envVars() {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

// fileVariants lists the variables that have a _FILE variant.
func fileVariants() []string {
	names := map[string]bool{}
	for _, v := range envVars() {
		names[v.Name] = true
	}
	var out []string
	for _, v := range envVars() {
		if names[v.Name+"_FILE"] {
			out = append(out, v.Name)
		}
	}
	return out
}

// readSecretFile reads a _FILE variable's file once (client.FileSecret:
// trimmed of surrounding white space, a trailing newline being the norm in
// mounted secrets; empty is an error).
func readSecretFile(name, path string) (string, error) {
	f, err := client.NewFileSecret(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return f.Value(), nil
}

// envVar describes one variable of config.
type envVar struct {
	Name, Default, Help string
	Mapping             string // the mapping setting it sets, if any
	Secret              bool
	Index               int // field index in config
}

// envVars lists the variables in declaration order.
func envVars() []envVar {
	t := reflect.TypeFor[config]()
	var vars []envVar
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			continue
		}
		name, def, _ := strings.Cut(tag, ",default=")
		vars = append(vars, envVar{Name: name, Default: def, Help: f.Tag.Get("help"),
			Mapping: f.Tag.Get("mapping"), Secret: f.Tag.Get("secret") == "true", Index: i})
	}
	return vars
}

// parseError turns envconfig's "Field: strconv..." error into one that names
// the variable, quotes its value and says what is expected.
func parseError(l envconfig.Lookuper, err error) error {
	t := reflect.TypeFor[config]()
	for _, v := range envVars() {
		f := t.Field(v.Index)
		if !strings.HasPrefix(err.Error(), f.Name+": ") {
			continue
		}
		val, _ := l.Lookup(v.Name)
		want := "a valid value"
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
			want = "a duration such as 30s, 5m or 1h"
		case f.Type.Kind() == reflect.Bool:
			want = "true or false"
		case f.Type.Kind() == reflect.Float64:
			want = "a number"
		case f.Type.Kind() == reflect.Int || f.Type.Kind() == reflect.Int64:
			want = "an integer"
		}
		return fmt.Errorf("%s=%q: must be %s", v.Name, val, want)
	}
	return err
}
