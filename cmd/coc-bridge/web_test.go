package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// webConfig writes a web configuration file (exporter-toolkit's format).
func webConfig(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func bcryptHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// With basic auth in the web configuration, every endpoint but the two
// probes answers 401 without credentials (and with wrong ones) and 200 with
// them; the webhook and POST /-/reload included.
func TestWebConfigBasicAuthProtectsAllButProbes(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	env["COC_BRIDGE_WEB_CONFIG_FILE"] = webConfig(t, t.TempDir(),
		"basic_auth_users:\n  prometheus: "+bcryptHash(t, "scrape-pw")+"\n")
	d := startServe(t, env)
	sample := string(sampleNotification(sampleOptions{}))
	endpoints := []request{
		{path: "/metrics"}, {path: "/"}, {path: "/api/v1/tickets"}, {path: "/api/v1/outbox"},
		{method: http.MethodPost, path: "/api/v1/alerts", body: sample},
		{method: http.MethodPost, path: "/-/reload"},
	}
	good := map[string]string{"Authorization": basicHeader("prometheus", "scrape-pw")}
	for _, wrong := range []map[string]string{nil, {"Authorization": basicHeader("prometheus", "nope")},
		{"Authorization": basicHeader("other", "scrape-pw")}, {"Authorization": "Bearer scrape-pw"}} {
		for _, r := range endpoints {
			r.header = wrong
			if code, body := d.do(r); code != http.StatusUnauthorized {
				t.Errorf("%s %s with %v: %d, want 401: %.200s", r.method, r.path, wrong, code, body)
			}
		}
	}
	if n := len(d.ledgerWith(good)); n != 0 {
		t.Errorf("%d ledger entries after unauthenticated posts", n)
	}
	for _, r := range endpoints {
		r.header = good
		if code, body := d.do(r); code != http.StatusOK {
			t.Errorf("%s %s with credentials: %d, want 200: %.200s", r.method, r.path, code, body)
		}
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		if code, body := d.do(request{path: p}); code != http.StatusOK {
			t.Errorf("GET %s without credentials: %d, want 200: %s", p, code, body)
		}
	}
	if code := d.stop(); code != exitOK {
		t.Errorf("exit %d:\n%s", code, d.log)
	}
}

// A webhook bearer token and web-config basic auth together: the webhook
// takes the token (Alertmanager sends one kind of credentials), every other
// endpoint basic auth; POST /-/reload needs credentials either way.
func TestWebhookBearerBesideWebConfig(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	env["COC_BRIDGE_WEBHOOK_BEARER_TOKEN"] = "am-token"
	env["COC_BRIDGE_WEB_CONFIG_FILE"] = webConfig(t, t.TempDir(), "basic_auth_users:\n  ops: "+bcryptHash(t, "ops-pw")+"\n")
	d := startServe(t, env)
	sample := string(sampleNotification(sampleOptions{}))
	bearer := map[string]string{"Authorization": "Bearer am-token"}
	basic := map[string]string{"Authorization": basicHeader("ops", "ops-pw")}
	for _, tc := range []struct {
		name string
		req  request
		want int
	}{
		{"webhook with the token", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample, header: bearer}, 200},
		{"webhook without credentials", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample}, 401},
		{"webhook with basic auth", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample, header: basic}, 401},
		{"metrics with the token", request{path: "/metrics", header: bearer}, 401},
		{"metrics with basic auth", request{path: "/metrics", header: basic}, 200},
		{"reload with basic auth", request{method: http.MethodPost, path: "/-/reload", header: basic}, 200},
		{"reload without credentials", request{method: http.MethodPost, path: "/-/reload"}, 401},
	} {
		if code, body := d.do(tc.req); code != tc.want {
			t.Errorf("%s: %d, want %d: %.200s", tc.name, code, tc.want, body)
		}
	}
	d.stop()

	// Without users in the web configuration, reload takes the token.
	delete(env, "COC_BRIDGE_WEB_CONFIG_FILE")
	d = startServe(t, env)
	if code, _ := d.do(request{method: http.MethodPost, path: "/-/reload"}); code != http.StatusUnauthorized {
		t.Errorf("reload without the token: %d, want 401", code)
	}
	if code, body := d.do(request{method: http.MethodPost, path: "/-/reload", header: bearer}); code != http.StatusOK {
		t.Errorf("reload with the token: %d: %s", code, body)
	}
	if code, body := d.do(request{path: "/metrics"}); code != http.StatusOK {
		t.Errorf("metrics with no web config: %d: %s", code, body)
	}
	d.stop()
}

func basicHeader(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// ledgerWith reads the ledger with the given credentials.
func (d *testDaemon) ledgerWith(h map[string]string) []string {
	d.t.Helper()
	code, body := d.do(request{path: "/api/v1/tickets", header: h})
	if code != http.StatusOK {
		d.t.Fatalf("ledger answered %d: %s", code, body)
	}
	return strings.Split(strings.TrimSpace(body), `"key"`)[1:]
}

// TLS from the web configuration: HTTPS only; with client_auth_type
// RequireAndVerifyClientCert a client without a certificate is refused; and
// replacing the certificate files changes the certificate served at the
// next handshake, without a restart.
func TestWebConfigTLSClientCertsAndRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t)
	first := ca.issue(t, "coc-bridge-first", x509.ExtKeyUsageServerAuth)
	second := ca.issue(t, "coc-bridge-second", x509.ExtKeyUsageServerAuth)
	clientCert := ca.issue(t, "alertmanager", x509.ExtKeyUsageClientAuth)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first.write(t, certFile, keyFile)
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	env["COC_BRIDGE_WEB_CONFIG_FILE"] = webConfig(t, dir, `tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
`)
	d := startServe(t, env)
	addr := strings.TrimPrefix(d.url, "http://")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.certPEM)

	// get returns the common name of the certificate the server presents,
	// over a new connection.
	get := func(withCert bool) (string, error) {
		cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		if withCert {
			cfg.Certificates = []tls.Certificate{clientCert.pair(t)}
		}
		tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/-/healthy")
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", &net.OpError{Op: "status " + resp.Status}
		}
		return resp.TLS.PeerCertificates[0].Subject.CommonName, nil
	}
	if _, err := get(false); err == nil {
		t.Error("a client without a certificate was served")
	}
	if cn, err := get(true); err != nil || cn != "coc-bridge-first" {
		t.Fatalf("with a client certificate: %q, %v", cn, err)
	}
	if code, body := d.do(request{path: "/-/healthy"}); code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port = %d %q, want 400", code, body)
	}
	second.write(t, certFile, keyFile) // what cert-manager does to the secret volume
	if cn, err := get(true); err != nil || cn != "coc-bridge-second" {
		t.Errorf("after replacing the files: served %q, %v; want the new certificate", cn, err)
	}
	if code := d.stop(); code != exitOK {
		t.Errorf("exit %d:\n%s", code, d.log)
	}
}

type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

type testCert struct{ certPEM, keyPEM []byte }

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}
}

// write replaces the files atomically (a new file renamed over each).
func (c testCert) write(t *testing.T, certFile, keyFile string) {
	t.Helper()
	for f, b := range map[string][]byte{certFile: c.certPEM, keyFile: c.keyPEM} {
		if err := os.WriteFile(f+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f+".new", f); err != nil {
			t.Fatal(err)
		}
	}
}

func (c testCert) pair(t *testing.T) tls.Certificate {
	t.Helper()
	p, err := tls.X509KeyPair(c.certPEM, c.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// send-test-alert reaches a TLS bridge with --ca-file, and without --url
// posts to the port of COC_BRIDGE_LISTEN_ADDRESS.
func TestSendTestAlertCAFileAndListenAddress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t)
	ca.issue(t, "coc-bridge", x509.ExtKeyUsageServerAuth).write(t, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	env["COC_BRIDGE_WEB_CONFIG_FILE"] = webConfig(t, dir, "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n")
	d := startServe(t, env)
	https := strings.Replace(d.url, "http://", "https://", 1)
	if code, out, errOut := runCmd(t, nil, "send-test-alert", "--url", https, "--ca-file", caFile); code != exitOK || !strings.Contains(out, "200 OK") {
		t.Errorf("with --ca-file: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, nil, "send-test-alert", "--url", https); code != exitFailure || !strings.Contains(errOut, "certificate") {
		t.Errorf("without --ca-file: exit %d, want 1 with a certificate error: %s", code, errOut)
	}
	d.stop()

	plain := testEnv(t, "http://127.0.0.1:1")
	plain["COC_BRIDGE_DRY_RUN"] = "true"
	d = startServe(t, plain)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(d.url, "http://"))
	code, out, errOut := runCmd(t, map[string]string{"COC_BRIDGE_LISTEN_ADDRESS": ":" + port}, "send-test-alert")
	if code != exitOK || !strings.Contains(out, "POST http://localhost:"+port+"/api/v1/alerts: 200") {
		t.Errorf("with COC_BRIDGE_LISTEN_ADDRESS=:%s: exit %d\n%s%s", port, code, out, errOut)
	}
}
