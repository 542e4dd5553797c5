package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

func demoCommand() command {
	return command{
		name:    "demo",
		args:    "[--exit] [--store FILE] [--listen ADDR] [--timeout D]",
		summary: "quickstart: fake COC + bridge on SQLite + a sample alert, end to end",
		about: `Run everything on this machine without a Huawei Cloud account: start the fake COC on a
free loopback port, start a bridge on a SQLite file (a temporary directory unless --store)
pointed at it, post the sample Alertmanager notification, wait until the ticket exists at
the fake COC, and print it with the URLs to explore. Then keep serving until Ctrl-C, so you
can point your own Alertmanager or 'coc-bridge send-test-alert' at it; --exit stops right
after printing the ticket. Other COC_BRIDGE_* variables (mapping, instance, ...) apply;
the COC endpoint, credentials, store, listen address and webhook authentication are the demo's.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			o := demoOptions{}
			fs.BoolVar(&o.exit, "exit", false, "exit 0 once the ticket is shown, instead of serving until Ctrl-C")
			fs.StringVar(&o.store, "store", "", "SQLite file to use (default: a new temporary directory, removed on exit)")
			fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "bridge listen address (default: a free loopback port)")
			fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the ticket")
			if err := a.parse(fs, args); err != nil {
				return err
			}
			return a.demo(ctx, o)
		},
	}
}

type demoOptions struct {
	exit          bool
	store, listen string
	timeout       time.Duration
}

func (a *app) demo(ctx context.Context, o demoOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.store == "" {
		dir, err := os.MkdirTemp("", "coc-bridge-demo-")
		if err != nil {
			return fmt.Errorf("create a temporary directory: %w", err)
		}
		defer os.RemoveAll(dir)
		o.store = filepath.Join(dir, "coc-bridge.db")
	}

	fakeLog, err := newLogger("warn", "console", a.stderr)
	if err != nil {
		return err
	}
	fake := coctest.New(coctest.Options{AccessKey: demoAccessKey, SecretKey: demoSecretKey, DomainID: demoDomainID,
		Logger: fakeLog.Named("fake-coc")})
	fakeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the fake COC: %w", err)
	}
	fakeURL := "http://" + fakeLn.Addr().String()

	cfg, err := loadConfig(ctx, demoEnv(a.env, fakeURL, o), needAll)
	if err != nil {
		fakeLn.Close()
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddress)
	if err != nil {
		fakeLn.Close()
		return fmt.Errorf("listen: %w", err)
	}
	bridgeURL := "http://" + ln.Addr().String()

	var wg sync.WaitGroup
	var fakeErr, serveErr error
	serveDone := make(chan struct{})
	wg.Go(func() {
		fakeErr = bridge.Serve(ctx, fakeLn, fakeHandler(fake, fakeLog), bridge.ServerOptions{ShutdownGrace: time.Second})
	})
	wg.Go(func() {
		defer close(serveDone)
		defer cancel()
		serveErr = a.serve(ctx, cfg, ln)
	})
	err = a.demoRun(ctx, o, fake, bridgeURL, fakeURL, serveDone)
	if err == nil && !o.exit {
		fmt.Fprintf(a.stdout, "\nServing until Ctrl-C.\n")
		<-ctx.Done()
	}
	cancel()
	wg.Wait()
	return errors.Join(err, serveErr, fakeErr)
}

// demoEnv is the environment with the demo's settings on top.
func demoEnv(env environ, fakeURL string, o demoOptions) environ {
	over := map[string]string{
		"COC_BRIDGE_COC_ENDPOINT": fakeURL, "COC_BRIDGE_COC_DOMAIN_ID": demoDomainID, "COC_BRIDGE_COC_PROJECT_ID": "",
		"COC_BRIDGE_COC_ACCESS_KEY": demoAccessKey, "COC_BRIDGE_COC_ACCESS_KEY_FILE": "",
		"COC_BRIDGE_COC_SECRET_KEY": demoSecretKey, "COC_BRIDGE_COC_SECRET_KEY_FILE": "",
		"COC_BRIDGE_COC_SECURITY_TOKEN": "", "COC_BRIDGE_COC_SECURITY_TOKEN_FILE": "",
		"COC_BRIDGE_STORE": o.store, "COC_BRIDGE_STORE_FILE": "", "COC_BRIDGE_DRY_RUN": "false",
		"COC_BRIDGE_LISTEN_ADDRESS": o.listen, "COC_BRIDGE_WEB_CONFIG_FILE": "",
		"COC_BRIDGE_WEBHOOK_BEARER_TOKEN": "", "COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE": "",
	}
	// Defaults that make the demo readable and its tickets valid, unless set.
	for name, def := range map[string]string{
		"COC_BRIDGE_LOG_FORMAT":           "console",
		"COC_BRIDGE_ISSUE_CONTACT_PERSON": demoContactPerson,
	} {
		if v, ok := env.Lookup(name); !ok || v == "" {
			over[name] = def
		}
	}
	merged := maps.Clone(env)
	maps.Copy(merged, over)
	return merged
}

// demoRun posts the sample, waits for its ticket at the fake and prints it.
func (a *app) demoRun(ctx context.Context, o demoOptions, fake *coctest.Server, bridgeURL, fakeURL string, serveDone <-chan struct{}) error {
	webhook := bridgeURL + "/api/v1/alerts"
	status, answer, err := postWebhook(ctx, &http.Client{}, webhook, sampleNotification(sampleOptions{}), webhookCredentials{})
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("the bridge answered %d: %s", status, answer)
	}
	var accepted struct {
		Decisions []struct {
			Key string `json:"key"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(answer), &accepted); err != nil || len(accepted.Decisions) == 0 {
		return fmt.Errorf("unexpected answer from the bridge: %s", answer)
	}
	key := accepted.Decisions[0].Key
	fmt.Fprintf(a.stdout, "Posted the sample notification (2 alerts, group HighErrorRate/api-gateway) to %s\nIssue key (sent as source_id): %s\n", webhook, key)

	t, err := waitForTicket(ctx, fake, bridgeURL, key, o.timeout, serveDone)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, `
Ticket created at the fake COC:
  ticket_id:   %s
  title:       %s
  level:       %s
  regions:     %s
  source:      %s
  source_id:   %s
  description:
%s

`, t.TicketID, t.Title, t.Level, t.Regions, t.Source, t.SourceID, indent(t.Description, "    "))
	if o.exit {
		fmt.Fprintf(a.stdout, "Stopping (--exit). Run 'coc-bridge demo' without --exit to keep the bridge and the fake COC running.\n")
		return nil
	}
	fmt.Fprintf(a.stdout, `Explore:
  %s/                    links
  %s/api/v1/tickets      the ledger
  %s/metrics             metrics
  %s/_fake/tickets       the tickets the fake COC holds
  coc-bridge send-test-alert --url %s --group checkout      (another group: another ticket)
  COC_BRIDGE_STORE=%s coc-bridge tickets
Alertmanager webhook URL: %s/api/v1/alerts
`, bridgeURL, bridgeURL, bridgeURL, fakeURL, bridgeURL, o.store, bridgeURL)
	return nil
}

// waitForTicket polls the fake until it holds a ticket with source_id key,
// and the bridge's ledger so that a refused ticket is reported at once.
func waitForTicket(ctx context.Context, fake *coctest.Server, bridgeURL, key string, timeout time.Duration, serveDone <-chan struct{}) (coctest.Ticket, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if found := fake.TicketsBySourceID(key); len(found) > 0 {
			return found[0], nil
		}
		if e, err := fetchLedgerEntry(ctx, bridgeURL, key); err == nil && e.State == bridge.StateDead {
			return coctest.Ticket{}, fmt.Errorf("COC refused the ticket (dead-lettered): %s", e.LastError)
		}
		select {
		case <-ctx.Done():
			return coctest.Ticket{}, ctx.Err()
		case <-serveDone:
			return coctest.Ticket{}, errors.New("the bridge stopped before the ticket was created")
		case <-deadline.C:
			return coctest.Ticket{}, fmt.Errorf("no ticket with source_id %s at the fake COC after %s", key, timeout)
		case <-tick.C:
		}
	}
}

// fetchLedgerEntry reads one key's entry from the bridge's ledger view.
func fetchLedgerEntry(ctx context.Context, bridgeURL, key string) (bridge.LedgerEntry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, bridgeURL+"/api/v1/tickets?key="+url.QueryEscape(key), nil)
	if err != nil {
		return bridge.LedgerEntry{}, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return bridge.LedgerEntry{}, err
	}
	defer resp.Body.Close()
	var v struct{ Tickets []bridge.LedgerEntry }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return bridge.LedgerEntry{}, err
	}
	if len(v.Tickets) == 0 {
		return bridge.LedgerEntry{}, bridge.ErrNotFound
	}
	return v.Tickets[0], nil
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
