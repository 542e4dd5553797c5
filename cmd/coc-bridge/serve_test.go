package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres/pgtest"
)

// With COC_BRIDGE_TLS_CERT_FILE and _KEY_FILE the daemon serves HTTPS only.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	cert, key := selfSignedCert(t)
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	env["COC_BRIDGE_TLS_CERT_FILE"] = cert
	env["COC_BRIDGE_TLS_KEY_FILE"] = key
	d := startServe(t, env)
	base := strings.Replace(d.url, "http://", "https://", 1)
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(base + "/-/healthy")
	if err != nil {
		t.Fatalf("GET over HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthy over HTTPS = %d", resp.StatusCode)
	}
	if code, body := d.do(request{path: "/-/healthy"}); code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port = %d %q, want 400", code, body)
	}
	if code := d.stop(); code != exitOK {
		t.Errorf("exit %d", code)
	}
}

func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "coc-bridge test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}

// The same end to end on PostgreSQL (COC_BRIDGE_STORE=postgres://...), in a
// schema of its own.
func TestServePostgres(t *testing.T) {
	dsn := os.Getenv("COC_BRIDGE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set COC_BRIDGE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	t.Parallel()
	store := postgresSchema(t, dsn)
	fake, cocURL := newFake(t)
	env := testEnv(t, cocURL)
	env["COC_BRIDGE_STORE"] = store

	d := startServe(t, env)
	key, _ := d.postSample(sampleOptions{}, nil)
	waitFor(t, 15*time.Second, "the ticket", func() bool { return len(fake.TicketsBySourceID(key)) == 1 })
	waitFor(t, 15*time.Second, "the ledger entry to open", func() bool {
		open := d.ledger("?state=open")
		return len(open) == 1 && open[0].Key == key
	})
	if code := d.stop(); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, d.log)
	}
	d2 := startServe(t, env)
	if _, decision := d2.postSample(sampleOptions{}, nil); decision != "suppress_open" {
		t.Errorf("after restart decision %q, want suppress_open", decision)
	}
	d2.stop()

	code, stdout, stderr := runCmd(t, map[string]string{"COC_BRIDGE_STORE": store}, "tickets", "--json")
	var entries []bridge.LedgerEntry
	if code != exitOK || json.Unmarshal([]byte(stdout), &entries) != nil || len(entries) != 1 || entries[0].Key != key {
		t.Errorf("tickets on PostgreSQL: exit %d\n%s%s", code, stdout, stderr)
	}
	if u, err := url.Parse(store); err == nil {
		if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(d.log.String()+d2.log.String(), pw) {
			t.Errorf("the log contains the database password")
		}
	}
}

// postgresSchema creates a schema for one test (dropped afterwards) and
// returns dsn with search_path set to it.
func postgresSchema(t *testing.T, dsn string) string {
	t.Helper()
	return pgtest.SchemaDSN(t, dsn, "coc_bridge_cmd_")
}
