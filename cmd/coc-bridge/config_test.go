package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/mapping"
)

const testContact = "51875a8200fd45189f94745678545bc3"

// minimalEnv is the smallest valid environment: credentials and the ticket
// owner (COC requires one with the default, individual, owner type).
func minimalEnv() map[string]string {
	return map[string]string{
		"COC_BRIDGE_COC_ACCESS_KEY":       "HWCTESTAK0000000001",
		"COC_BRIDGE_COC_SECRET_KEY":       "sk-never-printed-7f3a",
		"COC_BRIDGE_ISSUE_CONTACT_PERSON": testContact,
	}
}

func with(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(context.Background(), environ(minimalEnv()), needAll)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	host, _ := os.Hostname()
	checks := []struct {
		name      string
		got, want any
	}{
		{"LISTEN_ADDRESS", cfg.ListenAddress, ":9096"},
		{"COC_ENDPOINT", cfg.COCEndpoint, "https://coc.myhuaweicloud.com"},
		{"COC_QPS", cfg.COCQPS, 5.0},
		{"COC_BURST", cfg.COCBurst, 5},
		{"COC_TIMEOUT", cfg.COCTimeout, 10 * time.Second},
		{"STORE", cfg.Store, "coc-bridge.db"},
		{"STORE_TIMEOUT", cfg.StoreTimeout, 5 * time.Second},
		{"INSTANCE", cfg.Instance, "alertmanager"},
		{"REPLICA_ID", cfg.ReplicaID, host},
		{"DEDUPE_BY", cfg.DedupeBy, "group"},
		{"TICKET_TYPE", cfg.TicketType, "issues_type_1000"},
		{"ENTERPRISE_PROJECT", cfg.EnterpriseProject, "0"},
		{"VIRTUAL_SCHEDULE_TYPE", cfg.VirtualScheduleType, "issues_mgmt_virtual_schedule_type_2000"},
		{"SOURCE", cfg.Source, "issues_mgmt_associated_type_2000"},
		{"SEVERITY_LABEL", cfg.SeverityLabel, "severity"},
		{"DEFAULT_LEVEL", cfg.DefaultLevel, "issues_level_3000"},
		{"REGION_LABELS", cfg.RegionLabels, []string{"region"}},
		{"LOG_LEVEL", cfg.LogLevel, "info"},
		{"LOG_FORMAT", cfg.LogFormat, "json"},
		{"DRY_RUN", cfg.DryRun, false},
		{"MAX_BODY_BYTES", cfg.MaxBodyBytes, int64(4194304)},
		{"WORKERS", cfg.Workers, 4},
		{"REFRESH_INTERVAL", cfg.RefreshInterval, 5 * time.Minute},
		{"REFRESH_MAX_INTERVAL", cfg.RefreshMaxInterval, time.Hour},
		{"REFRESH_QPS_SHARE", cfg.RefreshQPSShare, 0.5},
		{"TERMINAL_STATUSES", len(cfg.TerminalStatuses), 0},
		{"LEASE", cfg.Lease, 2 * time.Minute},
		{"RETRY_MAX_DELAY", cfg.RetryMaxDelay, 5 * time.Minute},
		{"SHUTDOWN_GRACE", cfg.ShutdownGrace, 30 * time.Second},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("COC_BRIDGE_%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// The env defaults of the mapping settings must agree with mapping's own
// defaults, so an unset variable never changes the mapping.
func TestEnvDefaultsMatchMappingDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(context.Background(), environ(minimalEnv()), needAll)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	want := mapping.DefaultConfig()
	want.Fields.IssueContactPerson = testContact
	if !reflect.DeepEqual(cfg.mapping, want) {
		t.Errorf("mapping from default env:\n%+v\nwant mapping.DefaultConfig():\n%+v", cfg.mapping, want)
	}
}

func TestConfigOverlay(t *testing.T) {
	t.Parallel()
	mf := writeFile(t, "mapping.yaml", "instance: prod-from-file\n")
	env := with(minimalEnv(),
		"COC_BRIDGE_INSTANCE", "prod-from-env",
		"COC_BRIDGE_ISSUE_CONTACT_PERSON", "someone-else",
		"COC_BRIDGE_REGION_LABELS", "region, az ,",
		"COC_BRIDGE_DEDUPE_BY", "alert",
		"COC_BRIDGE_MAPPING_FILE", mf)
	cfg, err := loadConfig(context.Background(), environ(env), needAll)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	m := cfg.mapping
	if m.Instance != "prod-from-file" {
		t.Errorf("Instance = %q: the mapping file must override the env", m.Instance)
	}
	if m.Fields.IssueContactPerson != "someone-else" || m.DedupeBy != mapping.KeyByAlert {
		t.Errorf("env not applied: %+v", m)
	}
	if !reflect.DeepEqual(m.RegionLabels, []string{"region", "az"}) {
		t.Errorf("RegionLabels = %q", m.RegionLabels)
	}
}

func TestConfigFileVariants(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"COC_BRIDGE_ISSUE_CONTACT_PERSON":      testContact,
		"COC_BRIDGE_COC_ACCESS_KEY_FILE":       writeFile(t, "ak", "HWCFROMFILE\n"),
		"COC_BRIDGE_COC_SECRET_KEY_FILE":       writeFile(t, "sk", "  sk-from-file  \n"),
		"COC_BRIDGE_COC_SECURITY_TOKEN_FILE":   writeFile(t, "token", "tok\n"),
		"COC_BRIDGE_STORE_FILE":                writeFile(t, "dsn", "postgres://u:pw@db:5432/coc\n"),
		"COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE": writeFile(t, "bearer", "bearer-from-file\n"),
	}
	cfg, err := loadConfig(context.Background(), environ(env), needAll)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.Store != "postgres://u:pw@db:5432/coc" {
		t.Errorf("Store = %q, want the trimmed file content", cfg.Store)
	}
	auth, err := webhookAuth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := auth.BearerToken(); got != "bearer-from-file" {
		t.Errorf("bearer token = %q", got)
	}
}

// Every invalid setting stops check-config (and serve) with exit code 2 and
// one line naming the variable and what is allowed.
func TestConfigInvalid(t *testing.T) {
	t.Parallel()
	empty := writeFile(t, "empty", "\n")
	missing := filepath.Join(t.TempDir(), "missing")
	base := minimalEnv()
	cases := []struct {
		name string
		env  map[string]string
		want string // the whole stderr, without the "coc-bridge: " prefix and newline
	}{
		{"dedupe", with(base, "COC_BRIDGE_DEDUPE_BY", "foo"), `COC_BRIDGE_DEDUPE_BY="foo": must be one of group, alert, groupkey`},
		{"log level", with(base, "COC_BRIDGE_LOG_LEVEL", "loud"), `COC_BRIDGE_LOG_LEVEL="loud": must be one of debug, info, warn, error`},
		{"log format", with(base, "COC_BRIDGE_LOG_FORMAT", "xml"), `COC_BRIDGE_LOG_FORMAT="xml": must be one of json, console`},
		{"qps zero", with(base, "COC_BRIDGE_COC_QPS", "0"), `COC_BRIDGE_COC_QPS="0": must be > 0`},
		{"qps text", with(base, "COC_BRIDGE_COC_QPS", "fast"), `COC_BRIDGE_COC_QPS="fast": must be a number`},
		{"burst", with(base, "COC_BRIDGE_COC_BURST", "0"), `COC_BRIDGE_COC_BURST="0": must be >= 1`},
		{"timeout", with(base, "COC_BRIDGE_COC_TIMEOUT", "soon"), `COC_BRIDGE_COC_TIMEOUT="soon": must be a duration such as 30s, 5m or 1h`},
		{"dry run", with(base, "COC_BRIDGE_DRY_RUN", "maybe"), `COC_BRIDGE_DRY_RUN="maybe": must be true or false`},
		{"workers", with(base, "COC_BRIDGE_WORKERS", "0"), `COC_BRIDGE_WORKERS="0": must be > 0`},
		{"workers text", with(base, "COC_BRIDGE_WORKERS", "four"), `COC_BRIDGE_WORKERS="four": must be an integer`},
		{"max body", with(base, "COC_BRIDGE_MAX_BODY_BYTES", "-1"), `COC_BRIDGE_MAX_BODY_BYTES="-1": must be > 0`},
		{"grace", with(base, "COC_BRIDGE_SHUTDOWN_GRACE", "0s"), `COC_BRIDGE_SHUTDOWN_GRACE="0s": must be > 0`},
		{"refresh", with(base, "COC_BRIDGE_REFRESH_INTERVAL", "0"), `COC_BRIDGE_REFRESH_INTERVAL="0": must be > 0`},
		{"lease", with(base, "COC_BRIDGE_LEASE", "15s"), `COC_BRIDGE_LEASE="15s": must be at least twice COC_BRIDGE_COC_TIMEOUT (10s): an attempt is cut off at half the lease`},
		{"listen", with(base, "COC_BRIDGE_LISTEN_ADDRESS", "9096"), `COC_BRIDGE_LISTEN_ADDRESS="9096": must be host:port, such as :9096 or 127.0.0.1:9096`},
		{"instance", with(base, "COC_BRIDGE_INSTANCE", ""), `COC_BRIDGE_INSTANCE: must not be empty: it namespaces every issue key`},
		{"terminal", with(base, "COC_BRIDGE_TERMINAL_STATUSES", "!"), `COC_BRIDGE_TERMINAL_STATUSES="!": "!": name a status code, status name or phase after "!"`},
		{"store empty", with(base, "COC_BRIDGE_STORE", ""), `COC_BRIDGE_STORE is empty: set a SQLite file path or a postgres:// URL`},
		{"store both", with(base, "COC_BRIDGE_STORE_FILE", writeFile(t, "dsn", "x.db"), "COC_BRIDGE_STORE", "y.db"),
			`COC_BRIDGE_STORE and COC_BRIDGE_STORE_FILE are both set: set only one`},
		{"no credentials", map[string]string{"COC_BRIDGE_ISSUE_CONTACT_PERSON": testContact},
			`COC_BRIDGE_COC_ACCESS_KEY (or _FILE) and COC_BRIDGE_COC_SECRET_KEY (or _FILE) are required unless COC_BRIDGE_DRY_RUN=true`},
		{"empty environment", map[string]string{},
			"COC_BRIDGE_COC_ACCESS_KEY (or _FILE) and COC_BRIDGE_COC_SECRET_KEY (or _FILE) are required unless COC_BRIDGE_DRY_RUN=true"},
		{"no secret key", map[string]string{"COC_BRIDGE_COC_ACCESS_KEY": "AK", "COC_BRIDGE_ISSUE_CONTACT_PERSON": testContact},
			`COC_BRIDGE_COC_ACCESS_KEY (or _FILE) and COC_BRIDGE_COC_SECRET_KEY (or _FILE) are required unless COC_BRIDGE_DRY_RUN=true`},
		{"secret key both", with(base, "COC_BRIDGE_COC_SECRET_KEY_FILE", writeFile(t, "sk", "sk")),
			`COC_BRIDGE_COC_SECRET_KEY and COC_BRIDGE_COC_SECRET_KEY_FILE are both set: set only one`},
		{"secret key file missing", with(base, "COC_BRIDGE_COC_SECRET_KEY", "", "COC_BRIDGE_COC_SECRET_KEY_FILE", missing),
			`COC_BRIDGE_COC_SECRET_KEY_FILE: stat ` + missing + `: no such file or directory`},
		{"secret key file empty", with(base, "COC_BRIDGE_COC_SECRET_KEY", "", "COC_BRIDGE_COC_SECRET_KEY_FILE", empty),
			`COC_BRIDGE_COC_SECRET_KEY_FILE: read ` + empty + `: the file is empty`},
		{"token both", with(base, "COC_BRIDGE_COC_SECURITY_TOKEN", "t", "COC_BRIDGE_COC_SECURITY_TOKEN_FILE", writeFile(t, "tok", "t")),
			`COC_BRIDGE_COC_SECURITY_TOKEN and COC_BRIDGE_COC_SECURITY_TOKEN_FILE are both set: set only one`},
		{"bearer both", with(base, "COC_BRIDGE_WEBHOOK_BEARER_TOKEN", "t", "COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE", writeFile(t, "b", "t")),
			`COC_BRIDGE_WEBHOOK_BEARER_TOKEN and COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE are both set: set only one`},
		{"removed basic user", with(base, "COC_BRIDGE_WEBHOOK_BASIC_USER", "am"),
			`COC_BRIDGE_WEBHOOK_BASIC_USER was removed: use COC_BRIDGE_WEB_CONFIG_FILE (basic_auth_users, with bcrypt hashes) or COC_BRIDGE_WEBHOOK_BEARER_TOKEN`},
		{"removed tls cert", with(base, "COC_BRIDGE_TLS_CERT_FILE", "cert.pem"),
			`COC_BRIDGE_TLS_CERT_FILE was removed: use COC_BRIDGE_WEB_CONFIG_FILE (tls_server_config: cert_file, key_file)`},
		{"web config missing", with(base, "COC_BRIDGE_WEB_CONFIG_FILE", missing),
			`COC_BRIDGE_WEB_CONFIG_FILE="` + missing + `": open ` + missing + `: no such file or directory`},
		{"misspelt variable", with(base, "COC_BRIDGE_COC_ENDPIONT", "cn-north-4"),
			`COC_BRIDGE_COC_ENDPIONT is not a coc-bridge variable (did you mean COC_BRIDGE_COC_ENDPOINT?); 'coc-bridge serve --help' lists them`},
		{"unknown variable", with(base, "COC_BRIDGE_FOO", "x"),
			`COC_BRIDGE_FOO is not a coc-bridge variable; 'coc-bridge serve --help' lists them`},
		{"mapping file missing", with(base, "COC_BRIDGE_MAPPING_FILE", missing),
			`COC_BRIDGE_MAPPING_FILE: open ` + missing + `: no such file or directory`},
		{"default level", with(base, "COC_BRIDGE_DEFAULT_LEVEL", "urgent"),
			`COC_BRIDGE_DEFAULT_LEVEL: "urgent" is not one of issues_level_1000 (critical), issues_level_2000 (major), issues_level_3000 (minor), issues_level_4000 (warning)`},
		{"region label", with(base, "COC_BRIDGE_REGION_LABELS", "region,availability zone"),
			`COC_BRIDGE_REGION_LABELS: "availability zone" is not a valid label name`},
		{"several at once", with(base, "COC_BRIDGE_LOG_LEVEL", "loud", "COC_BRIDGE_WORKERS", "0"),
			"COC_BRIDGE_LOG_LEVEL=\"loud\": must be one of debug, info, warn, error\ncoc-bridge: COC_BRIDGE_WORKERS=\"0\": must be > 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, tc.env, "check-config")
			if code != exitInvalid {
				t.Errorf("exit code %d, want %d", code, exitInvalid)
			}
			if want := "coc-bridge: " + tc.want + "\n"; stderr != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %s", stdout)
			}
			if strings.Contains(stderr, "sk-never-printed-7f3a") {
				t.Errorf("the secret key leaked into the error")
			}
		})
	}
}

// An owner type without its owner is valid (the daemon must start with only
// COC's endpoint and credentials) but check-config warns about it, naming the
// variable, and still exits 0.
func TestCheckConfigWarnings(t *testing.T) {
	t.Parallel()
	base := minimalEnv()
	cases := []struct {
		name string
		env  map[string]string
		want string // "" for no warning
	}{
		{"owner set", base, ""},
		{"no ticket owner", with(base, "COC_BRIDGE_ISSUE_CONTACT_PERSON", ""),
			`warning: COC_BRIDGE_ISSUE_CONTACT_PERSON: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_2000 (individual owner): the COC user id of the ticket owner`},
		{"shift owner without scenes", with(base, "COC_BRIDGE_VIRTUAL_SCHEDULE_TYPE", "issues_mgmt_virtual_schedule_type_1000"),
			`warning: COC_BRIDGE_SCHEDULE_SCENES: required when virtual_schedule_type is issues_mgmt_virtual_schedule_type_1000 (shift owner): the COC shift scenario id`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, tc.env, "check-config")
			if code != exitOK || stderr != "" {
				t.Fatalf("exit code %d, stderr %q; want 0 and nothing", code, stderr)
			}
			var warnings []string
			for _, line := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(line, "warning: ") {
					warnings = append(warnings, line)
				}
			}
			switch {
			case tc.want == "" && (len(warnings) != 0 || !strings.HasSuffix(stdout, "\nconfiguration OK\n")):
				t.Errorf("warnings %q, tail %q; want none and \"configuration OK\"", warnings, stdout[max(0, len(stdout)-40):])
			case tc.want != "" && (len(warnings) != 1 || warnings[0] != tc.want || !strings.HasSuffix(stdout, "\nconfiguration OK, with warnings\n")):
				t.Errorf("warnings %q, want [%q] and \"configuration OK, with warnings\"", warnings, tc.want)
			}
		})
	}
}

// Errors that come from other packages are checked by their prefix.
func TestConfigInvalidPrefix(t *testing.T) {
	t.Parallel()
	base := minimalEnv()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"endpoint", with(base, "COC_BRIDGE_COC_ENDPOINT", "ftp://coc.example.com"), `coc-bridge: COC_BRIDGE_COC_ENDPOINT="ftp://coc.example.com": `},
		{"level with a mapping file", with(base, "COC_BRIDGE_DEFAULT_LEVEL", "urgent", "COC_BRIDGE_MAPPING_FILE", writeFile(t, "ok.yaml", "instance: x\n")),
			`coc-bridge: COC_BRIDGE_DEFAULT_LEVEL (or default_level in COC_BRIDGE_MAPPING_FILE): "urgent" is not one of `},
		{"template in the mapping file", with(base, "COC_BRIDGE_MAPPING_FILE", writeFile(t, "tpl.yaml", "title: '{{ .Nope'\n")),
			`coc-bridge: COC_BRIDGE_MAPPING_FILE="`},
		{"mapping yaml", with(base, "COC_BRIDGE_MAPPING_FILE", writeFile(t, "m.yaml", "levels: [\n")), `coc-bridge: COC_BRIDGE_MAPPING_FILE="`},
		{"postgres URL", with(base, "COC_BRIDGE_STORE", "postgres://u:secretpw@db:5432/x y%zz"), `coc-bridge: COC_BRIDGE_STORE: not a valid postgres:// URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCmd(t, tc.env, "check-config")
			if code != exitInvalid || !strings.HasPrefix(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and prefix %q", code, stderr, tc.want)
			}
			if strings.Contains(stderr, "secretpw") {
				t.Errorf("the store password leaked: %s", stderr)
			}
		})
	}
}

func TestCheckConfigRedactsSecrets(t *testing.T) {
	t.Parallel()
	secrets := []string{"sk-never-printed-7f3a", "bearer-never-printed-91c2", "dbpw-never-printed-55aa"}
	env := with(minimalEnv(),
		"COC_BRIDGE_WEBHOOK_BEARER_TOKEN", secrets[1],
		"COC_BRIDGE_STORE", "postgres://bridge:"+secrets[2]+"@db.example.com:5432/coc",
		"COC_BRIDGE_ISSUE_CONTACT_PERSON", "51875a8200fd45189f94745678545bc3")
	code, stdout, stderr := runCmd(t, env, "check-config")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range secrets {
		if strings.Contains(stdout+stderr, s) {
			t.Errorf("check-config printed the secret %q", s)
		}
	}
	for _, want := range []string{
		"COC_BRIDGE_COC_SECRET_KEY  <secret>",
		"COC_BRIDGE_COC_SECURITY_TOKEN  <unset>",
		"COC_BRIDGE_WEBHOOK_BEARER_TOKEN  <secret>",
		"postgres://bridge:xxxxx@db.example.com:5432/coc",
		"COC_BRIDGE_COC_ACCESS_KEY  HWCTESTAK0000000001",
		"configuration OK",
	} {
		if !containsSpaced(stdout, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, stdout)
		}
	}
}

// containsSpaced reports whether out has a line with want's words in order,
// separated by any run of spaces (tabwriter alignment).
func containsSpaced(out, want string) bool {
	fields := strings.Fields(want)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(strings.Join(strings.Fields(line), " "), strings.Join(fields, " ")) {
			return true
		}
	}
	return false
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, nil, c.name, "--help")
			if code != exitOK || !strings.HasPrefix(stdout, "Usage: coc-bridge "+c.name) || stderr != "" {
				t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
		})
	}
	t.Run("serve lists every variable", func(t *testing.T) {
		t.Parallel()
		_, stdout, _ := runCmd(t, nil, "serve", "--help")
		for _, v := range envVars() {
			if !strings.Contains(stdout, v.Name) || v.Help == "" {
				t.Errorf("serve --help lacks %s or its help", v.Name)
			}
		}
	})
	t.Run("overview", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := runCmd(t, nil, "--help")
		if code != exitOK || !strings.Contains(stdout, "send-test-alert") {
			t.Errorf("exit %d: %s", code, stdout)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runCmd(t, nil, "frobnicate")
		if code != exitInvalid || !strings.Contains(stderr, `coc-bridge: unknown command "frobnicate"`) {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runCmd(t, nil, "tickets", "--colour")
		want := "coc-bridge: tickets: flag provided but not defined: -colour (see 'coc-bridge tickets --help')\n"
		if code != exitInvalid || stderr != want {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("version", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{"version"}, {"--version"}} {
			code, stdout, _ := runCmd(t, nil, args...)
			if code != exitOK || !strings.HasPrefix(stdout, "coc-bridge, version dev (branch: ") || !strings.Contains(stdout, "go version:       go1.") {
				t.Errorf("%v: exit %d: %s", args, code, stdout)
			}
		}
	})
}

// runCmd runs one command line in-process and returns the exit code and
// the outputs.
func runCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, environ(env), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// Every mapping tag names a setting of mapping.Config, and each variable
// with one lands in that setting.
func TestMappingTagsNameSettings(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(context.Background(), environ(with(minimalEnv(),
		"COC_BRIDGE_INSTANCE", "prod-eu", "COC_BRIDGE_TICKET_TYPE", "issues_type_2000",
		"COC_BRIDGE_REGION_LABELS", "region, zone", "COC_BRIDGE_DEFAULT_REGION", "eu-west-101",
		"COC_BRIDGE_LEVEL_UPDATES", "both", "COC_BRIDGE_ON_RESOLVE", "cancel_unaccepted",
		"COC_BRIDGE_LOOKUP_SCHEDULE", "1s,10s,1m", "COC_BRIDGE_LOOKUP_BEFORE_CREATE", "true")), needAll)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.mapping
	if m.Instance != "prod-eu" || m.Fields.TicketType != "issues_type_2000" || m.DefaultRegion != "eu-west-101" ||
		strings.Join(m.RegionLabels, ",") != "region,zone" || m.Fields.IssueContactPerson != testContact {
		t.Errorf("mapping from the variables = %+v", m)
	}
	if m.LevelUpdates != mapping.LevelUpdatesBoth || m.OnResolve != mapping.OnResolveCancelUnaccepted ||
		!slices.Equal(m.LookupSchedule, []time.Duration{time.Second, 10 * time.Second, time.Minute}) || !m.LookupBeforeCreate {
		t.Errorf("lifecycle policy from the variables = %v %v %v %v", m.LevelUpdates, m.OnResolve, m.LookupSchedule, m.LookupBeforeCreate)
	}
	// The defaults are mapping's.
	def, err := loadConfig(context.Background(), environ(minimalEnv()), needAll)
	if err != nil {
		t.Fatal(err)
	}
	if d := mapping.DefaultConfig(); def.mapping.LevelUpdates != d.LevelUpdates || def.mapping.OnResolve != d.OnResolve ||
		!slices.Equal(def.mapping.LookupSchedule, d.LookupSchedule) || def.mapping.LookupBeforeCreate {
		t.Errorf("default lifecycle policy = %v %v %v %v, want mapping's defaults", def.mapping.LevelUpdates,
			def.mapping.OnResolve, def.mapping.LookupSchedule, def.mapping.LookupBeforeCreate)
	}
	// A wrong value names its variable.
	for name, value := range map[string]string{"COC_BRIDGE_LEVEL_UPDATES": "sideways", "COC_BRIDGE_ON_RESOLVE": "delete",
		"COC_BRIDGE_LOOKUP_SCHEDULE": "5s,1s"} {
		_, err := loadConfig(context.Background(), environ(with(minimalEnv(), name, value)), needAll)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: error %v, want one naming the variable", name, value, err)
		}
	}
	n := 0
	for _, v := range envVars() {
		if v.Mapping != "" {
			n++
			mappingSetting(reflect.ValueOf(&m).Elem(), v.Mapping) // panics on an unknown setting
		}
	}
	if n != 17 {
		t.Errorf("%d variables set mapping settings, want the 17 documented", n)
	}
}
