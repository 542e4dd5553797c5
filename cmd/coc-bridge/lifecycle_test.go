package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // a second connection to the bridge's database
)

// /-/ready turns 503 while the store cannot write (another process holds
// the SQLite write lock) and 200 again once it can.
func TestReadyFollowsTheStore(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	d := startServe(t, env)
	if code, body := d.do(request{path: "/-/ready"}); code != http.StatusOK {
		t.Fatalf("ready = %d before the lock: %s", code, body)
	}

	// Another process's connection; it waits for the bridge's own writes.
	db, err := sql.Open("sqlite", "file:"+env["COC_BRIDGE_STORE"]+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	code, body := d.do(request{path: "/-/ready"})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("ready = %d %q while the store is locked, want 503 naming the store", code, body)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "ready again", func() bool {
		code, _ := d.do(request{path: "/-/ready"})
		return code == http.StatusOK
	})
	if code := d.stop(); code != exitOK {
		t.Errorf("exit %d", code)
	}
}

// The built binary drains on a real SIGTERM: it exits 0, and a notification
// acknowledged just before is in the store after a restart and ends as
// exactly one ticket.
func TestSIGTERMDrainsBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "coc-bridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fake, cocURL := newFake(t)
	// Creates take a while, so SIGTERM arrives with a delivery in flight.
	fake.SetLatency(300 * time.Millisecond)
	// The default lease (2m) is far longer than the test: an item the
	// stopped process had claimed but not delivered would hold it up, so
	// passing shows the drain finishes or releases what it claimed.
	env := testEnv(t, cocURL)

	p := startBinary(t, bin, env)
	key, _ := p.postSample(sampleOptions{}, nil)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, p.log)
	}
	if log := p.log.String(); !strings.Contains(log, `"msg":"shutting down"`) {
		t.Errorf("no shutdown line in the log:\n%s", log)
	}

	fake.SetLatency(0)
	p2 := startBinary(t, bin, env)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("first run:\n%s\nafter the restart:\n%s", p.log, p2.log)
		}
	})
	if got := p2.ledger("?key=" + key); len(got) != 1 {
		t.Fatalf("after restart the ledger has %d entries for the key, want 1", len(got))
	}
	waitFor(t, 20*time.Second, "the ledger entry to open", func() bool {
		got := p2.ledger("?key=" + key)
		return len(got) == 1 && got[0].State == "open"
	})
	if n := len(fake.TicketsBySourceID(key)); n != 1 {
		t.Errorf("%d tickets for the key, want exactly 1", n)
	}
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p2.wait(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// startBinary runs the built binary with env and learns its address from
// the "listening" log line.
func startBinary(t *testing.T, bin string, env map[string]string) *binaryDaemon {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &binaryDaemon{cmd: cmd, exited: make(chan struct{})}
	b.testDaemon = testDaemon{t: t, log: &syncBuffer{}}
	addr := make(chan string, 1)
	var readDone sync.WaitGroup
	readDone.Go(func() { scanLog(io.TeeReader(stderr, b.log), addr) })
	go func() {
		readDone.Wait()
		_ = cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.exited
	})
	select {
	case a := <-addr:
		b.url = "http://" + a
	case <-b.exited:
		t.Fatalf("the binary exited before listening:\n%s", b.log)
	case <-time.After(20 * time.Second):
		t.Fatalf("the binary did not listen within 20s:\n%s", b.log)
	}
	return b
}

// scanLog reads JSON log lines and sends the address of the first
// "listening" line.
func scanLog(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		var line struct{ Msg, Address string }
		if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
			addr <- line.Address
			sent = true
		}
	}
}

type binaryDaemon struct {
	testDaemon
	cmd    *exec.Cmd
	exited chan struct{}
}

func (b *binaryDaemon) wait() int {
	select {
	case <-b.exited:
		return b.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		b.t.Fatalf("the binary did not exit within 30s:\n%s", b.log)
		return -1
	}
}
