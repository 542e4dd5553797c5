package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coc-bridge/coc-bridge/bench"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

const (
	accessKey = "bench-ak"
	secretKey = "bench-sk"
	domainID  = "bench-domain"
)

// fake is the fake COC served on loopback by this process.
type fake struct {
	*coctest.Server
	URL  string
	srv  *http.Server
	seen *callLog
}

func startFake(qps float64, latency time.Duration) (*fake, error) {
	s := coctest.New(coctest.Options{AccessKey: accessKey, SecretKey: secretKey, DomainID: domainID,
		QPSLimit: qps, Latency: latency})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	seen := &callLog{next: s, lastRead: map[string]time.Time{}}
	srv := &http.Server{Handler: seen, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &fake{Server: s, URL: "http://" + ln.Addr().String(), srv: srv, seen: seen}, nil
}

func (f *fake) close() { _ = f.srv.Close() }

// calls is every COC call the fake received.
func (f *fake) calls() int {
	return f.Calls("create_ticket") + f.Calls("get_ticket") + f.Calls("list_tickets")
}

// child is a process under test (the bridge or the floor).
type child struct {
	cmd  *exec.Cmd
	URL  string
	log  string
	done chan struct{}
}

// startBridge runs the coc-bridge binary with env (on top of the bench
// defaults) and waits until it is ready.
func startBridge(ctx context.Context, bin, dir string, coc *fake, store string, env []string) (*child, error) {
	base := []string{
		"COC_BRIDGE_LISTEN_ADDRESS=127.0.0.1:0",
		"COC_BRIDGE_COC_ENDPOINT=" + coc.URL,
		"COC_BRIDGE_COC_ACCESS_KEY=" + accessKey,
		"COC_BRIDGE_COC_SECRET_KEY=" + secretKey,
		"COC_BRIDGE_COC_DOMAIN_ID=" + domainID,
		"COC_BRIDGE_STORE=" + store,
		"COC_BRIDGE_REPLICA_ID=bench",
		"COC_BRIDGE_LOG_FORMAT=json",
		"COC_BRIDGE_DEFAULT_REGION=cn-north-4",
		"COC_BRIDGE_ISSUE_CONTACT_PERSON=bench-owner",
	}
	logPath := filepath.Join(dir, "bridge.log")
	c, err := startChild(logPath, append(base, env...), bin, "serve")
	if err != nil {
		return nil, err
	}
	addr, err := waitAddress(ctx, c, func() string { return bench.ListenAddress(logPath) })
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("bridge: %w (log %s)", err, logPath)
	}
	c.URL = "http://" + addr
	if err := waitReady(ctx, c.URL+"/-/ready"); err != nil {
		c.stop()
		return nil, fmt.Errorf("bridge: %w (log %s)", err, logPath)
	}
	return c, nil
}

// startFloor runs this program's floor subcommand.
func startFloor(ctx context.Context, dir string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "floor.log")
	c, err := startChild(logPath, nil, self, "floor", "-listen", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr, err := waitAddress(ctx, c, func() string {
		b, _ := os.ReadFile(logPath)
		s, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "listening ")
		if !ok {
			return ""
		}
		return s
	})
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("floor: %w", err)
	}
	c.URL = "http://" + addr
	return c, nil
}

func startChild(logPath string, env []string, bin string, args ...string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &child{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

func waitAddress(ctx context.Context, c *child, read func() string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if a := read(); a != "" {
			return a, nil
		}
		select {
		case <-c.done:
			return "", errors.New("exited before listening")
		case <-ctx.Done():
			return "", errors.New("no listen address within 30s")
		case <-tick.C:
		}
	}
}

func waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("not ready within 30s")
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and waits (SIGKILL after 20 s).
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// usage is a process's CPU time and peak resident set.
type usage struct {
	CPU     time.Duration
	PeakRSS int64 // bytes (VmHWM)
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times.
func clockTicks() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
}

func (c *child) usage(hz int64) (usage, error) {
	pid := c.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	// Fields after the command name (which may contain spaces) in parentheses.
	s := string(stat)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// rest[0] is field 3 (state); utime is field 14, stime field 15.
	ut, _ := strconv.ParseInt(rest[11], 10, 64)
	st, _ := strconv.ParseInt(rest[12], 10, 64)
	u := usage{CPU: time.Duration(ut+st) * time.Second / time.Duration(hz)}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			u.PeakRSS = kb << 10
		}
	}
	return u, nil
}
