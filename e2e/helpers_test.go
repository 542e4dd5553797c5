//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bench"
	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client/coctest"
	"github.com/coc-bridge/coc-bridge/internal/await"
)

// Credentials shared by the fake COC and the bridges.
const (
	accessKey = "e2e-ak"
	secretKey = "e2e-sk"
	domainID  = "e2e-domain"
)

// exampleConfig is the Alertmanager example the operators copy; every test
// runs a configuration generated from it.
const exampleConfig = "../deploy/alertmanager/alertmanager.yml"

// alertmanagerBinary returns the Alertmanager server binary, failing under
// CI and skipping elsewhere when it is missing.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("COC_BRIDGE_E2E_ALERTMANAGER")
	if p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "the Alertmanager binary is missing: set COC_BRIDGE_E2E_ALERTMANAGER (.ci/e2e.sh installs it); got " + strconv.Quote(p)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// buildBridge builds cmd/coc-bridge into dir and returns the binary's path.
func buildBridge(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "coc-bridge")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/coc-bridge")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/coc-bridge: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond until it holds or the deadline passes.
var waitFor = await.Explained

// amConfig generates an Alertmanager configuration from the example: the
// webhook URL and the route timings are replaced, everything else is the
// example as shipped.
func amConfig(t *testing.T, dir, webhookURL string, timings map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatalf("read the example config: %v", err)
	}
	text := string(raw)
	urlLine := regexp.MustCompile(`(?m)^(\s*-?\s*url:\s*)\S+\s*$`)
	if n := len(urlLine.FindAllString(text, -1)); n != 1 {
		t.Fatalf("%s: want exactly one url: line, found %d", exampleConfig, n)
	}
	text = urlLine.ReplaceAllString(text, "${1}"+webhookURL)
	for key, value := range timings {
		re := regexp.MustCompile(`(?m)^(\s*` + regexp.QuoteMeta(key) + `:\s*)\S+\s*$`)
		if n := len(re.FindAllString(text, -1)); n != 1 {
			t.Fatalf("%s: want exactly one %s: line, found %d", exampleConfig, key, n)
		}
		text = re.ReplaceAllString(text, "${1}"+value)
	}
	p := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	checkConfig(t, p)
	return p
}

// checkConfig runs amtool check-config on p when COC_BRIDGE_E2E_AMTOOL names
// an amtool binary.
func checkConfig(t *testing.T, p string) {
	t.Helper()
	amtool := os.Getenv("COC_BRIDGE_E2E_AMTOOL")
	if amtool == "" {
		t.Logf("COC_BRIDGE_E2E_AMTOOL is not set: not running amtool check-config on %s", filepath.Base(p))
		return
	}
	out, err := exec.Command(amtool, "check-config", p).CombinedOutput()
	if err != nil {
		t.Fatalf("amtool check-config %s: %v\n%s", p, err, out)
	}
}

// process is a child process whose output goes to a log file, stopped with
// SIGTERM at cleanup; the log is shown when the test failed.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProcess(t *testing.T, name, logPath string, env []string, bin string, args ...string) *process {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create log: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = f
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("--- %s log (last 8 KiB) ---\n%s", name, tail(out, 8<<10))
		}
	})
	return p
}

// stop sends SIGTERM and waits up to 15 s before killing.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		t.Logf("%s did not stop within 15s of SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// fakeCOC is the fake COC API on a loopback httptest server.
type fakeCOC struct {
	*coctest.Server
	URL string
}

func startFakeCOC(t *testing.T) *fakeCOC {
	t.Helper()
	s := coctest.New(coctest.Options{AccessKey: accessKey, SecretKey: secretKey, DomainID: domainID})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &fakeCOC{Server: s, URL: srv.URL}
}

// bridgeProc is a running coc-bridge binary.
type bridgeProc struct {
	*process
	URL string
}

// startBridge runs the binary with the fake COC's credentials, the given
// store and extra COC_BRIDGE_* variables, listening on a loopback port it
// picks itself (read back from its "listening" log line).
func startBridge(t *testing.T, bin, dir, name string, coc *fakeCOC, store string, extra ...string) *bridgeProc {
	t.Helper()
	env := []string{
		"COC_BRIDGE_LISTEN_ADDRESS=127.0.0.1:0",
		"COC_BRIDGE_COC_ENDPOINT=" + coc.URL,
		"COC_BRIDGE_COC_ACCESS_KEY=" + accessKey,
		"COC_BRIDGE_COC_SECRET_KEY=" + secretKey,
		"COC_BRIDGE_COC_DOMAIN_ID=" + domainID,
		"COC_BRIDGE_COC_QPS=50",
		"COC_BRIDGE_COC_BURST=10",
		"COC_BRIDGE_STORE=" + store,
		"COC_BRIDGE_REPLICA_ID=" + name,
		"COC_BRIDGE_INSTANCE=e2e",
		"COC_BRIDGE_ISSUE_CONTACT_PERSON=e2e-owner",
		"COC_BRIDGE_LOG_FORMAT=json",
		"COC_BRIDGE_LOG_LEVEL=debug",
	}
	env = append(env, extra...)
	logPath := filepath.Join(dir, name+".log")
	p := startProcess(t, name, logPath, env, bin, "serve")
	var addr string
	waitFor(t, 30*time.Second, name+" to log its listen address", func() (bool, string) {
		if p.exited() {
			t.Fatalf("%s exited: %v", name, p.err)
		}
		addr = bench.ListenAddress(logPath)
		return addr != "", "no listening line yet"
	})
	b := &bridgeProc{process: p, URL: "http://" + addr}
	waitFor(t, 30*time.Second, name+" to be ready", func() (bool, string) {
		code, body := get(b.URL + "/-/ready")
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
	return b
}

// get returns the status code and body of a GET (code 0 on transport errors).
func get(url string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ledger reads the bridge's /api/v1/tickets.
func (b *bridgeProc) ledger(t *testing.T) []bridge.LedgerEntry {
	t.Helper()
	code, body := get(b.URL + "/api/v1/tickets")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/tickets: %d %s", code, body)
	}
	var v struct {
		Tickets []bridge.LedgerEntry `json:"tickets"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode ledger: %v\n%s", err, body)
	}
	return v.Tickets
}

// metric returns the value of one sample of the bridge's /metrics, e.g.
// `coc_bridge_decisions_total{decision="suppress_open"}` (0 when absent).
func (b *bridgeProc) metric(t *testing.T, series string) float64 {
	t.Helper()
	code, body := get(b.URL + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for line := range strings.SplitSeq(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				continue
			}
			v, err := strconv.ParseFloat(fields[0], 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return v
		}
	}
	return 0
}

// alertmanager is a running Alertmanager server.
type alertmanager struct {
	*process
	URL string
}

// startAlertmanager runs the binary on a free loopback port; cluster holds
// the --cluster.* flags (an empty --cluster.listen-address for a single one).
func startAlertmanager(t *testing.T, bin, dir, name, config string, cluster ...string) *alertmanager {
	t.Helper()
	storage := filepath.Join(dir, name+"-data")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		t.Fatal(err)
	}
	// freePort's port is free when it returns, not when Alertmanager binds
	// it: another socket of this machine may take it in between. Then
	// Alertmanager exits at once, and it is started again on another port.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		args := append([]string{
			"--config.file=" + config,
			"--storage.path=" + storage,
			"--web.listen-address=127.0.0.1:" + strconv.Itoa(port),
			"--log.level=debug",
		}, cluster...)
		logPath := filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, attempt))
		p := startProcess(t, name, logPath, nil, bin, args...)
		am := &alertmanager{process: p, URL: "http://127.0.0.1:" + strconv.Itoa(port)}
		ready := false
		waitFor(t, 60*time.Second, name+" to be ready", func() (bool, string) {
			if p.exited() {
				if out, _ := os.ReadFile(logPath); attempt < attempts && bytes.Contains(out, []byte("address already in use")) {
					return true, ""
				}
				t.Fatalf("%s exited: %v", name, p.err)
			}
			code, body := get(am.URL + "/-/ready")
			ready = code == http.StatusOK
			return ready, fmt.Sprintf("%d %s", code, body)
		})
		if ready {
			return am
		}
		t.Logf("%s: port %d was taken before it could listen on it; starting it again on another", name, port)
	}
}

// alert is a postable alert of Alertmanager's API v2.
type alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// post sends alerts to Alertmanager's /api/v2/alerts.
func (am *alertmanager) post(t *testing.T, alerts ...alert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, am.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post alerts to %s: %v", am.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post alerts to %s: %d %s", am.name, resp.StatusCode, b)
	}
}

func bySource(coc *fakeCOC) map[string][]coctest.Ticket {
	m := map[string][]coctest.Ticket{}
	for _, tk := range coc.Tickets() {
		m[tk.SourceID] = append(m[tk.SourceID], tk)
	}
	return m
}
