package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coc-bridge/coc-bridge/client/coctest"
)

func TestLooseMode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode  fs.FileMode
		uid   int
		loose bool
	}{
		{0o600, 65532, false},
		{0o400, 65532, false},
		{0o640, 65532, true}, // the owner's own group: ssh and PostgreSQL refuse it
		{0o620, 65532, true},
		{0o604, 65532, true},
		{0o644, 65532, true},
		{0o600, 0, false},
		{0o640, 0, false}, // root:fsGroup, as a Kubernetes secret volume with an fsGroup
		{0o440, 0, false},
		{0o660, 0, true},
		{0o644, 0, true}, // Kubernetes' default defaultMode
		{0o444, 0, true},
		{0o650, 0, true},
	} {
		if got := looseMode(c.mode, c.uid); got != c.loose {
			t.Errorf("looseMode(%#o, uid %d) = %v, want %v", c.mode, c.uid, got, c.loose)
		}
	}
}

// writeSecretFile writes content to dir/name with mode (chmod after the
// write, so the umask does not interfere).
func writeSecretFile(t *testing.T, dir, name, content string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// kubeSecretVolume lays files out as the kubelet does in a secret volume:
// name -> ..data/name, ..data -> ..<timestamp>/, the real file in there.
func kubeSecretVolume(t *testing.T, name, content string, mode fs.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	real := filepath.Join(dir, "..2026_01_02_03_04_05.123456789")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSecretFile(t, real, name, content, mode)
	if err := os.Symlink(filepath.Base(real), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, name)
	if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
		t.Fatal(err)
	}
	return link
}

func TestWarnLooseSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const content = "perm-LEAK-CANARY-31d7"
	cfg := &config{
		COCSecretKeyFile:       kubeSecretVolume(t, "sk", content, 0o600),
		COCSecurityTokenFile:   writeSecretFile(t, dir, "token", content, 0o644),
		COCAccessKeyFile:       writeSecretFile(t, dir, "ak", content, 0o644), // an identifier: not checked
		WebhookBearerTokenFile: kubeSecretVolume(t, "bearer", content, 0o644),
		StoreFile:              writeSecretFile(t, dir, "dsn", content, 0o620),
	}
	core, logs := observer.New(zapcore.DebugLevel)
	warnLooseSecretFiles(zap.New(core), cfg)

	want := map[string]string{ // variable -> path
		"COC_BRIDGE_COC_SECURITY_TOKEN_FILE":   cfg.COCSecurityTokenFile,
		"COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE": cfg.WebhookBearerTokenFile,
		"COC_BRIDGE_STORE_FILE":                cfg.StoreFile,
	}
	got := map[string]string{}
	for _, e := range logs.All() {
		if e.Level != zapcore.WarnLevel {
			t.Errorf("logged at %v, want warn: %v", e.Level, e.Message)
		}
		f := e.ContextMap()
		got[fmt.Sprint(f["variable"])] = fmt.Sprint(f["path"])
		if strings.Contains(fmt.Sprint(e.Message, f), content) {
			t.Errorf("the warning shows the file's content: %s %v", e.Message, f)
		}
		if f["variable"] == "COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE" {
			// The mode reported is the target's, not the link's (0777).
			if f["mode"] != "0644" || !strings.Contains(fmt.Sprint(f["target"]), "..2026_01_02") {
				t.Errorf("symlinked file: mode %v, target %v; want the target's 0644", f["mode"], f["target"])
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("warned about %v, want %v", got, want)
	}

	// Group-readable files: fine when root owns them (Kubernetes with an
	// fsGroup), not when the owner is the reader.
	p := writeSecretFile(t, dir, "group", content, 0o640)
	core, logs = observer.New(zapcore.DebugLevel)
	warnLooseSecretFiles(zap.New(core), &config{WebhookBearerTokenFile: p})
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if wantWarn := fileOwner(st) != 0; (logs.Len() == 1) != wantWarn {
		t.Errorf("0640 file owned by uid %d: %d warnings, want warning %v", fileOwner(st), logs.Len(), wantWarn)
	}
}

// recordingCOC is the fake COC behind a handler that keeps every
// Authorization and X-Security-Token header the bridge sent.
type recordingCOC struct {
	*coctest.Server
	mu      sync.Mutex
	headers []string
}

func (c *recordingCOC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	for _, h := range []string{"Authorization", "X-Security-Token"} {
		if v := r.Header.Get(h); v != "" {
			c.headers = append(c.headers, v)
		}
	}
	c.mu.Unlock()
	c.Server.ServeHTTP(w, r)
}

func (c *recordingCOC) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.headers...)
}

// TestSecretsNeverShown runs the daemon with distinctive credentials, some
// from files, drives every path that reports something (a ticket created, a
// COC 401 dead-lettered, a key rotated and the dead letter replayed, the
// webhook refusing wrong credentials, check-config, every GET endpoint),
// and checks that no secret, nor its base64 or hex form, nor any
// Authorization value sent to COC, appears in the log, stdout, stderr, an
// HTTP body or a metric. The access key is an identifier COC sees in every
// Authorization header; the bridge still never logs or serves it, and only
// check-config prints it (to show which key is configured).
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const (
		ak        = "AKLEAKCANARY0000A7K1"
		skWrong   = "sk-wrong-LEAK-CANARY-e41c"
		skRight   = "sk-right-LEAK-CANARY-b7d2"
		token     = "sts-LEAK-CANARY-5a90"
		bearer    = "bearer-LEAK-CANARY-0c3f"
		basicUser = "alertmanager"
		wrongTry  = "presented-LEAK-CANARY-77e0" // a wrong token someone sends
	)
	coc := &recordingCOC{Server: coctest.New(coctest.Options{AccessKey: ak, SecretKey: skRight, DomainID: testDomain})}
	srv := httptest.NewServer(coc)
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	skFile := writeSecretFile(t, dir, "sk", skWrong+"\n", 0o600)
	env := testEnv(t, srv.URL)
	delete(env, "COC_BRIDGE_COC_SECRET_KEY")
	env["COC_BRIDGE_COC_ACCESS_KEY"] = ak
	env["COC_BRIDGE_COC_SECRET_KEY_FILE"] = skFile
	env["COC_BRIDGE_COC_SECURITY_TOKEN"] = token
	env["COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE"] = writeSecretFile(t, dir, "bearer", bearer+"\n", 0o644) // too open: warned about
	env["COC_BRIDGE_RETRY_MAX_DELAY"] = "1s"

	var shown []string // every text the bridge produced, with its origin
	show := func(origin, text string) { shown = append(shown, origin+":\n"+text) }

	d, stdout := startServeCapturing(t, env)
	withBearer := map[string]string{"Authorization": "Bearer " + bearer}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(basicUser+":"+wrongTry))

	// 1. The wrong secret key: COC answers 401 and the item is dead-lettered.
	first, _ := d.postSample(sampleOptions{Group: "first"}, withBearer)
	waitFor(t, 20*time.Second, "the dead letter", func() bool {
		e := d.ledger("?key=" + first)
		return len(e) == 1 && e[0].State == "dead"
	})
	// 2. Refused webhook calls: a wrong token, a wrong password.
	for _, h := range []string{"Bearer " + wrongTry, "Basic " + base64.StdEncoding.EncodeToString([]byte(basicUser+":"+wrongTry))} {
		code, body := d.do(request{method: http.MethodPost, path: "/api/v1/alerts", body: string(sampleNotification(sampleOptions{})),
			header: map[string]string{"Authorization": h}})
		if code != http.StatusUnauthorized {
			t.Fatalf("wrong credentials answered %d: %s", code, body)
		}
		show("refused webhook answer", body)
	}
	// 3. Rotate the key file (a new file renamed over it, as kubelet and
	// editors do), replay the dead letter, and send a new group: both get
	// their tickets.
	tmp := writeSecretFile(t, dir, "sk.new", skRight+"\n", 0o600)
	if err := os.Rename(tmp, skFile); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, env, "outbox", "replay", "--all")
	if code != exitOK {
		t.Fatalf("outbox replay: exit %d: %s %s", code, out, errOut)
	}
	show("outbox replay stdout", out)
	show("outbox replay stderr", errOut)
	second, _ := d.postSample(sampleOptions{Group: "second"}, withBearer)
	waitFor(t, 20*time.Second, "both tickets", func() bool {
		return len(coc.TicketsBySourceID(first)) == 1 && len(coc.TicketsBySourceID(second)) == 1
	})
	waitFor(t, 20*time.Second, "the ledger to record both", func() bool {
		a, b := d.ledger("?key="+first), d.ledger("?key="+second)
		return len(a) == 1 && a[0].State == "open" && len(b) == 1 && b[0].State == "open"
	})
	// 3b. COC's message echoes the access key (API Gateway does: "ak ... not
	// exist"): the dead letter keeps the message with the key cut out.
	coc.FailNext("create_ticket", 1, coctest.Fault{Status: http.StatusUnauthorized, Code: "APIG.0301",
		Message: "Incorrect IAM authentication information: ak " + ak + " not exist"})
	third, _ := d.postSample(sampleOptions{Group: "third"}, withBearer)
	waitFor(t, 20*time.Second, "the third group's dead letter", func() bool {
		e := d.ledger("?key=" + third)
		return len(e) == 1 && e[0].State == "dead"
	})
	if e := d.ledger("?key=" + third); !strings.Contains(e[0].LastError, "ak <secret> not exist") {
		t.Errorf("dead letter error %q: want COC's message with the access key cut out", e[0].LastError)
	}
	// 4. Every GET endpoint, with and without credentials.
	for _, p := range []string{"/metrics", "/api/v1/tickets", "/api/v1/outbox", "/api/v1/outbox?state=dead", "/-/ready", "/-/healthy", "/"} {
		for _, h := range []map[string]string{nil, withBearer} {
			code, body := d.do(request{path: p, header: h})
			if code != http.StatusOK {
				t.Errorf("GET %s answered %d: %s", p, code, body)
			}
			show("GET "+p, body)
		}
	}
	// 5. check-config and the other commands that print the configuration.
	for _, args := range [][]string{{"check-config"}, {"tickets"}, {"outbox"}, {"serve", "--help"}} {
		code, out, errOut := runCmd(t, env, args...)
		if code != exitOK {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
		show(strings.Join(args, " ")+" stdout", out)
		show(strings.Join(args, " ")+" stderr", errOut)
	}
	if code := d.stop(); code != exitOK {
		t.Fatalf("serve exit %d", code)
	}
	log := d.log.String()
	show("serve stdout", stdout.String())
	show("serve log", log)

	// The run did go through the paths it claims to.
	for _, want := range []string{`"level":"debug"`, "APIG.0301", "COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE", "secret file is readable or writable by others"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q; the test would prove little", want)
		}
	}
	sent := coc.sent()
	if len(sent) < 4 {
		t.Fatalf("the fake saw %d credential headers", len(sent))
	}

	secrets := []string{skWrong, skRight, token, bearer, wrongTry}
	var forbidden []string
	for _, s := range secrets {
		forbidden = append(forbidden, s, base64.StdEncoding.EncodeToString([]byte(s)),
			base64.RawURLEncoding.EncodeToString([]byte(s)), hex.EncodeToString([]byte(s)))
	}
	forbidden = append(forbidden, strings.TrimPrefix(basic, "Basic "))
	for _, h := range sent {
		forbidden = append(forbidden, h)
		if _, sig, ok := strings.Cut(h, "Signature="); ok {
			forbidden = append(forbidden, sig)
		}
	}
	for _, text := range shown {
		origin, _, _ := strings.Cut(text, ":\n")
		for _, s := range forbidden {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a secret (%.12s...)", origin, s)
			}
		}
		if strings.Contains(text, ak) && !strings.HasPrefix(origin, "check-config") {
			t.Errorf("%s shows the access key", origin)
		}
	}
}
