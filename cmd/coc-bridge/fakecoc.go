package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// Credentials of the fake COC when the environment names none. They only
// ever guard a loopback fake.
const (
	demoAccessKey = "demo-ak"
	demoSecretKey = "demo-sk"
	demoDomainID  = "demo-domain"
	// demoContactPerson is the COC user id the demo's tickets name as owner
	// (COC requires one with the default, individual, schedule type).
	demoContactPerson = "demo-user"
)

func fakeCOCCommand() command {
	return command{
		name:    "fake-coc",
		args:    "[--listen 127.0.0.1:9097]",
		summary: "run the fake COC API on loopback for local trials",
		about: `Serve the fake COC issue-ticket API (the one the tests use: it verifies SDK-HMAC-SHA256
signatures like the API Gateway and keeps tickets in memory) and print the environment that
points a bridge at it. Credentials: COC_BRIDGE_COC_ACCESS_KEY / _SECRET_KEY / _DOMAIN_ID when
set, else demo-ak / demo-sk / demo-domain. Besides the COC API it serves
GET /_fake/tickets (every ticket, JSON) and POST /_fake/tickets/{id}/complete (complete a
ticket, so the bridge's refresher releases its key). Runs until Ctrl-C.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			listen := fs.String("listen", "127.0.0.1:9097", "listen address")
			if err := a.parse(fs, args); err != nil {
				return err
			}
			ak, sk, domain, userSK := a.fakeCredentials()
			log, err := newLogger("info", "console", a.stderr)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			fake := coctest.New(coctest.Options{AccessKey: ak, SecretKey: sk, DomainID: domain, Logger: log.Named("fake-coc")})
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			base := "http://" + ln.Addr().String()
			skLine := "export COC_BRIDGE_COC_SECRET_KEY=" + sk
			if userSK {
				skLine = "# COC_BRIDGE_COC_SECRET_KEY: the value already in your environment"
			}
			fmt.Fprintf(a.stdout, `fake COC listening on %s (Ctrl-C to stop)

Point a bridge at it:
  export COC_BRIDGE_COC_ENDPOINT=%s
  export COC_BRIDGE_COC_ACCESS_KEY=%s
  %s
  export COC_BRIDGE_COC_DOMAIN_ID=%s

Inspect it:
  curl %s/_fake/tickets
  curl -X POST %s/_fake/tickets/TICKET_ID/complete
`, base, base, ak, skLine, domain, base, base)
			if a.listening != nil {
				a.listening(ln.Addr())
			}
			return bridge.Serve(ctx, ln, fakeHandler(fake, log), bridge.ServerOptions{})
		},
	}
}

// fakeCredentials returns the fake's credentials from the environment or
// the demo defaults; userSK reports that the secret key came from the
// environment (so it is not printed).
func (a *app) fakeCredentials() (ak, sk, domain string, userSK bool) {
	get := func(name, def string) (string, bool) {
		if v, ok := a.env.Lookup(name); ok && v != "" {
			return v, true
		}
		if file, ok := a.env.Lookup(name + "_FILE"); ok && file != "" {
			if v, err := readSecretFile(name+"_FILE", file); err == nil {
				return v, true
			}
		}
		return def, false
	}
	ak, _ = get("COC_BRIDGE_COC_ACCESS_KEY", demoAccessKey)
	sk, userSK = get("COC_BRIDGE_COC_SECRET_KEY", demoSecretKey)
	domain, _ = get("COC_BRIDGE_COC_DOMAIN_ID", demoDomainID)
	return ak, sk, domain, userSK
}

// fakeHandler serves the fake COC plus two inspection endpoints.
func fakeHandler(fake *coctest.Server, log *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_fake/tickets", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = writeJSON(w, nonNil(fake.Tickets()))
	})
	mux.HandleFunc("POST /_fake/tickets/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := fake.Complete(id); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		log.Info("ticket completed", zap.String("ticket_id", id))
		_, _ = io.WriteString(w, "completed "+id+"\n")
	})
	mux.Handle("/", fake)
	return mux
}
