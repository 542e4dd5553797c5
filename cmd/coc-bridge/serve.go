package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
	"github.com/coc-bridge/coc-bridge/bridge/sqlite"
	"github.com/coc-bridge/coc-bridge/client"
)

func serveCommand() command {
	return command{
		name:    "serve",
		summary: "run the daemon (the default command)",
		about: `Serve the Alertmanager webhook on COC_BRIDGE_LISTEN_ADDRESS and deliver tickets to COC.
Endpoints: POST /api/v1/alerts, GET /metrics, /-/healthy, /-/ready, /api/v1/tickets, /api/v1/outbox, /,
POST /-/reload. COC_BRIDGE_WEB_CONFIG_FILE configures TLS, client certificates and basic auth.
On SIGHUP or POST /-/reload it reloads COC_BRIDGE_MAPPING_FILE, keeping the last good mapping
when the file is invalid. On SIGTERM or SIGINT it stops accepting, lets in-flight requests and deliveries finish within
COC_BRIDGE_SHUTDOWN_GRACE, closes the store and exits 0.

Environment variables:
` + envHelp(),
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			if err := a.parse(fs, args); err != nil {
				return err
			}
			cfg, err := loadConfig(ctx, a.env, needAll)
			if err != nil {
				return err
			}
			return a.serve(ctx, cfg, nil)
		},
	}
}

// serve runs the daemon until ctx ends. It listens on ln, or on
// cfg.ListenAddress when ln is nil.
func (a *app) serve(ctx context.Context, cfg *config, ln net.Listener) error {
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, a.stderr)
	if err != nil {
		return configError{err}
	}
	defer func() { _ = log.Sync() }()
	warnLooseSecretFiles(log, cfg)
	d, err := newDaemon(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.close()
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.ListenAddress); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	for _, w := range cfg.warnings {
		log.Warn("COC will reject tickets until this is set; they are dead-lettered and can be replayed (coc-bridge outbox replay)",
			zap.String("setting", w))
	}
	log.Info("listening", zap.String("address", ln.Addr().String()),
		zap.String("web_config_file", cfg.WebConfigFile), zap.String("version", appVersion()),
		zap.String("store", redactStore(cfg.Store)), zap.Bool("dry_run", cfg.DryRun),
		zap.String("coc_endpoint", cfg.COCEndpoint), zap.String("replica", cfg.ReplicaID))
	if a.listening != nil {
		a.listening(ln.Addr())
	}
	err = d.serve(ctx, ln)
	log.Info("stopped", zap.Error(err))
	return err
}

// daemon is everything serve wires together. close undoes newDaemon in
// reverse order.
type daemon struct {
	cfg      *config
	log      *zap.Logger
	reg      *prometheus.Registry
	store    bridge.Store
	bridge   *bridge.Bridge
	auth     bridge.WebhookAuth
	reloader *reloader
	hup      <-chan os.Signal
	closers  []func() error
}

func newDaemon(ctx context.Context, cfg *config, log *zap.Logger) (_ *daemon, err error) {
	d := &daemon{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	d.reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("coc_bridge"))
	if d.store, err = openStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.store.Close)
	if d.reloader, err = newReloader(cfg, log.Named("reload"), d.reg); err != nil {
		return nil, configError{fmt.Errorf("mapping: %w", err)}
	}
	hup, stop := hangups()
	d.hup = hup
	d.closers = append(d.closers, func() error { stop(); return nil })
	opts := bridge.Options{
		Store: d.store, Mapper: d.reloader.mapper(), DryRun: cfg.DryRun,
		Logger: log, Registerer: d.reg, Gatherer: d.reg, Version: appVersion(),
		ReplicaID: cfg.ReplicaID, Workers: cfg.Workers, Lease: cfg.Lease,
		RetryMaxDelay: cfg.RetryMaxDelay, RefreshInterval: cfg.RefreshInterval, RefreshMaxInterval: cfg.RefreshMaxInterval,
		TerminalStatuses: nonEmpty(cfg.TerminalStatuses), ShutdownGrace: cfg.ShutdownGrace,
		MaxBodyBytes: cfg.MaxBodyBytes, StoreTimeout: cfg.StoreTimeout,
	}
	if d.auth, err = webhookAuth(cfg); err != nil {
		return nil, configError{err}
	}
	opts.Auth = d.auth
	if !cfg.DryRun {
		coc, ready, err := newCOCClient(cfg, log, d.reg)
		if err != nil {
			return nil, err
		}
		opts.COC, opts.Ready = coc, ready
	}
	if r, ok := d.store.(bridge.ReplicaRegistry); ok {
		opts.Replicas = r // replicas share the account's COC rate limit
	}
	if d.bridge, err = bridge.New(opts); err != nil {
		return nil, fmt.Errorf("build bridge: %w", err)
	}
	return d, nil
}

// serve runs the HTTP server and the delivery pipeline until ctx ends (or
// one of them fails), then lets both drain within the shutdown grace.
func (d *daemon) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	context.AfterFunc(ctx, func() { d.log.Info("shutting down", zap.Duration("grace", d.cfg.ShutdownGrace)) })
	// The HTTP server's own errors (TLS handshakes, broken connections) go
	// to the structured log at warn level.
	errorLog, err := zap.NewStdLogAt(d.log.With(zap.String("component", "http")), zap.WarnLevel)
	if err != nil {
		return fmt.Errorf("http error log: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/-/reload", d.auth.Guard(d.cfg.WebConfigFile, d.reloader))
	mux.Handle("/", d.bridge.Handler())
	toolkitLog := slog.New(zapslog.NewHandler(d.log.Named("web").Core(), zapslog.WithCaller(false)))
	var wg sync.WaitGroup
	var serveErr, runErr error
	wg.Go(func() {
		defer cancel()
		serveErr = bridge.Serve(ctx, ln, mux, bridge.ServerOptions{
			WebConfigFile: d.cfg.WebConfigFile, Public: d.auth.Public, Logger: toolkitLog,
			ShutdownGrace: d.cfg.ShutdownGrace, ErrorLog: errorLog,
		})
	})
	wg.Go(func() { d.reloader.onHangup(ctx, d.hup) })
	wg.Go(func() {
		defer cancel()
		runErr = d.bridge.Run(ctx)
	})
	wg.Wait()
	return errors.Join(serveErr, runErr)
}

// close runs the cleanups in reverse order of creation.
func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](); err != nil {
			d.log.Error("shutdown step", zap.Error(err))
		}
	}
	d.closers = nil
}

// openStore opens the engine COC_BRIDGE_STORE names.
func openStore(ctx context.Context, cfg *config, log *zap.Logger) (bridge.Store, error) {
	log = log.Named("store")
	if isPostgres(cfg.Store) {
		s, err := postgres.Open(ctx, cfg.Store, postgres.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", redactStore(cfg.Store), err)
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, cfg.Store, sqlite.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// newCOCClient builds the COC client and the readiness check of its
// credentials.
func newCOCClient(cfg *config, log *zap.Logger, reg prometheus.Registerer) (*client.Client, func(context.Context) error, error) {
	creds, err := client.NewFileCredentials(client.FileCredentialsOptions{
		AccessKey: cfg.COCAccessKey, AccessKeyFile: cfg.COCAccessKeyFile,
		SecretKey: cfg.COCSecretKey, SecretKeyFile: cfg.COCSecretKeyFile,
		SecurityToken: cfg.COCSecurityToken, SecurityTokenFile: cfg.COCSecurityTokenFile,
		Logger: log.Named("credentials"), Registerer: reg,
	})
	if err != nil {
		return nil, nil, configError{fmt.Errorf("COC credentials: %w", err)}
	}
	c, err := client.New(client.Options{
		Endpoint: cfg.COCEndpoint, Credentials: creds, // validated by loadConfig
		DomainID: cfg.COCDomainID, ProjectID: cfg.COCProjectID,
		QPS: cfg.COCQPS, Burst: cfg.COCBurst, ReadShare: cfg.RefreshQPSShare,
		Retry:      client.RetryPolicy{AttemptTimeout: cfg.COCTimeout},
		Registerer: reg, Logger: log.Named("coc"),
		UserAgent: fmt.Sprintf("coc-bridge/%s (%s)", appVersion(), runtime.Version()),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("build COC client: %w", err)
	}
	ready := func(ctx context.Context) error {
		cr, err := creds.Credentials(ctx)
		if err != nil {
			return err
		}
		if cr.AccessKey == "" || cr.SecretKey == "" {
			return errors.New("access key or secret key is empty")
		}
		return nil
	}
	return c, ready, nil
}
