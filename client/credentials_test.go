package client_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// writeFile replaces path atomically (new inode), as secret rotation does.
func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	creds := client.Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken}
	opts := client.Options{Endpoint: "cn-north-4", Credentials: client.StaticCredentials(creds)}
	fc, err := client.NewFileCredentials(client.FileCredentialsOptions{AccessKey: testAK, SecretKey: testSK, SecurityToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	var printed []string
	for _, v := range []any{creds, &creds, client.StaticCredentials(creds), opts, &opts, fc, creds.SecretKey} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			printed = append(printed, fmt.Sprintf(verb, v))
		}
	}
	printed = append(printed, string(js), creds.SecretKey.String(), creds.SecurityToken.GoString(), fc.String())
	for _, p := range printed {
		if strings.Contains(p, testSK) || strings.Contains(p, testToken) || strings.Contains(p, fmt.Sprintf("%x", testSK)) {
			t.Fatalf("secret printed: %s", p)
		}
	}
	if !strings.Contains(fmt.Sprintf("%+v", creds), testAK) || creds.SecretKey.Reveal() != testSK {
		t.Fatal("access key hidden or Reveal broken")
	}
}

func TestFileCredentialsRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ak, sk, tok := filepath.Join(dir, "ak"), filepath.Join(dir, "sk"), filepath.Join(dir, "token")
	writeFile(t, ak, testAK+"\n", 0o600)
	writeFile(t, sk, "first-secret\n", 0o600)
	writeFile(t, tok, "token-1\n", 0o600)
	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	fc, err := client.NewFileCredentials(client.FileCredentialsOptions{
		AccessKeyFile: ak, SecretKeyFile: sk, SecurityTokenFile: tok, Registerer: reg, Logger: zap.New(core),
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func() client.Credentials {
		t.Helper()
		c, err := fc.Credentials(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := get(); c.AccessKey != testAK || c.SecretKey != "first-secret" || c.SecurityToken != "token-1" {
		t.Fatalf("initial credentials %q %q %q", c.AccessKey, c.SecretKey.Reveal(), c.SecurityToken.Reveal())
	}
	writeFile(t, sk, "second-secret", 0o600)
	if c := get(); c.SecretKey != "second-secret" {
		t.Fatalf("rotated secret not picked up: %q", c.SecretKey.Reveal())
	}
	if got := metric(t, reg, "coc_bridge_coc_credentials_reloads_total", "result", "ok"); got != 1 {
		t.Errorf("reloads{ok} = %v, want 1", got)
	}
	if err := os.Remove(sk); err != nil {
		t.Fatal(err)
	}
	if c := get(); c.SecretKey != "second-secret" {
		t.Fatalf("missing file lost the last good value: %q", c.SecretKey.Reveal())
	}
	writeFile(t, sk, "  \n", 0o600)
	if c := get(); c.SecretKey != "second-secret" {
		t.Fatalf("empty file replaced the secret: %q", c.SecretKey.Reveal())
	}
	get() // unchanged broken file: not counted again
	if got := metric(t, reg, "coc_bridge_coc_credentials_reloads_total", "result", "error"); got != 2 {
		t.Errorf("reloads{error} = %v, want 2 (missing, then empty)", got)
	}
	writeFile(t, sk, "third-secret\n", 0o600)
	if c := get(); c.SecretKey != "third-secret" {
		t.Fatalf("recovery not picked up: %q", c.SecretKey.Reveal())
	}
	for _, e := range logs.All() {
		if line := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(line, "secret\n") ||
			strings.Contains(line, "first-secret") || strings.Contains(line, "second-secret") || strings.Contains(line, "token-1") {
			t.Fatalf("log line leaks a value: %s", line)
		}
	}
}

func TestFileCredentialsErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty, sk := filepath.Join(dir, "empty"), filepath.Join(dir, "sk")
	writeFile(t, empty, "\n", 0o600)
	writeFile(t, sk, "file-secret", 0o600)
	for name, o := range map[string]client.FileCredentialsOptions{
		"missing file": {SecretKeyFile: filepath.Join(dir, "nope")},
		"empty file":   {AccessKeyFile: empty},
		"both set":     {SecretKey: "literal-secret", SecretKeyFile: sk},
	} {
		_, err := client.NewFileCredentials(o)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "literal-secret") || strings.Contains(err.Error(), "file-secret") {
			t.Errorf("%s: error leaks the secret: %v", name, err)
		}
	}
}

// TestRotatedKeyWorksWithoutRestart: a client whose secret file holds an
// old key is refused, then succeeds once the file is rotated.
func TestRotatedKeyWorksWithoutRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sk := filepath.Join(dir, "sk")
	writeFile(t, sk, "old-secret\n", 0o600)
	fc, err := client.NewFileCredentials(client.FileCredentialsOptions{AccessKey: testAK, SecretKeyFile: sk})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil, func(o *client.Options) { o.Credentials = fc })
	if _, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("rot")); !authRefused(err) {
		t.Fatalf("old key: %v, want an auth error", err)
	}
	writeFile(t, sk, testSK+"\n", 0o600)
	if _, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("rot")); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// TestSecretsAbsentFromErrorsAndLogs runs successful and failing calls with
// debug logs captured on both sides and searches everything for the secret
// key, the token and signatures.
func TestSecretsAbsentFromErrorsAndLogs(t *testing.T) {
	t.Parallel()
	clientCore, clientLogs := observer.New(zapcore.DebugLevel)
	fakeCore, fakeLogs := observer.New(zapcore.DebugLevel)
	h := newHarness(t, func(o *coctest.Options) { o.Logger = zap.New(fakeCore) },
		func(o *client.Options) { o.Logger = zap.New(clientCore); o.Retry.MaxAttempts = 2 })
	bad := newHarness(t, nil, func(o *client.Options) {
		o.Credentials = client.StaticCredentials{AccessKey: testAK, SecretKey: "wrong-" + testSK, SecurityToken: testToken}
		o.Logger = zap.New(clientCore)
	})
	var errs []error
	call := func(c *client.Client) {
		_, err := c.CreateIssueTicket(t.Context(), alarmTicket("leak"))
		errs = append(errs, err)
		_, err = c.GetTicket(t.Context(), "ISU-missing")
		errs = append(errs, err)
	}
	call(h.c)
	h.fake.DropAfterCreate(1)
	h.fake.FailNext(client.OpGetTicket, 2, coctest.Fault{Status: 502, Body: "<html>bad gateway</html>"})
	call(h.c)
	call(bad.c)
	var text []string
	for _, err := range errs {
		if err != nil {
			text = append(text, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}
	if len(text) < 8 {
		t.Fatalf("expected failing calls, got errors %v", errs)
	}
	for _, e := range append(clientLogs.All(), fakeLogs.All()...) {
		b, _ := json.Marshal(e.ContextMap())
		text = append(text, e.Message+" "+string(b))
	}
	if clientLogs.FilterMessage("coc attempt").Len() == 0 || fakeLogs.Len() == 0 {
		t.Fatal("no debug logs captured")
	}
	for _, s := range text {
		for _, secret := range []string{testSK, testToken, "Signature=", "SDK-HMAC-SHA256 Access"} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q found in %s", secret, s)
			}
		}
	}
}

// TestRotatedKeyIsUsedAtOnceAfterA401: the key files change while a
// request signed with the old key is on its way, and COC, which knows only
// the new key by then, refuses it. The client signs again with the new key
// at once, even with a retry policy of one attempt, instead of reporting a
// permanent refusal that would dead-letter the ticket.
func TestRotatedKeyIsUsedAtOnceAfterA401(t *testing.T) {
	t.Parallel()
	const newAK, newSK = "HWCROTATEDAK00000002", "rotated-secret"
	dir := t.TempDir()
	ak, sk := filepath.Join(dir, "ak"), filepath.Join(dir, "sk")
	writeFile(t, ak, testAK+"\n", 0o600)
	writeFile(t, sk, testSK+"\n", 0o600)
	fake := coctest.New(coctest.Options{AccessKey: newAK, SecretKey: newSK, DomainID: testDomain})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			writeFile(t, ak, newAK+"\n", 0o600)
			writeFile(t, sk, newSK+"\n", 0o600)
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	core, logs := observer.New(zapcore.InfoLevel)
	fc, err := client.NewFileCredentials(client.FileCredentialsOptions{AccessKeyFile: ak, SecretKeyFile: sk})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c, err := client.New(client.Options{
		Endpoint: srv.URL, Credentials: fc, DomainID: testDomain, Registerer: reg, Logger: zap.New(core),
		Retry: client.RetryPolicy{MaxAttempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.CreateIssueTicket(t.Context(), alarmTicket("rotated"))
	if err != nil {
		t.Fatalf("create across a key rotation: %v", err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("%d requests, want 2 (the refused one and the one signed again)", got)
	}
	if tk := fake.TicketsBySourceID("rotated"); len(tk) != 1 || tk[0].TicketID != res.TicketID {
		t.Errorf("fake holds %+v, want the one ticket %s", tk, res.TicketID)
	}
	if logs.FilterMessageSnippet("signing again").Len() != 1 {
		t.Errorf("no log line says the request was signed again: %v", logs.All())
	}

	// A wrong secret that does not change while the request is on its way
	// is refused once, not signed again.
	writeFile(t, sk, "not-the-secret\n", 0o600)
	before := requests.Load()
	if _, err := c.GetTicket(t.Context(), res.TicketID); !authRefused(err) || requests.Load() != before+1 {
		t.Errorf("wrong, unchanged secret: err %v after %d requests, want one refused request", err, requests.Load()-before)
	}
}
