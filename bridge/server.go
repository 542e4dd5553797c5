package bridge

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// routes builds the bridge's own mux (never http.DefaultServeMux). Every
// handler is instrumented with coc_bridge_http_* under a fixed handler label.
func (b *Bridge) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, b.instrument(name, h))
	}
	handle("/api/v1/alerts", "alerts", b.receive)
	handle("GET /api/v1/tickets", "tickets", b.tickets)
	handle("GET /api/v1/outbox", "outbox", b.outbox)
	handle("GET /-/healthy", "healthy", b.healthy)
	handle("GET /-/ready", "ready", b.readyHandler)
	mux.Handle("GET /metrics", b.instrument("metrics", promhttp.HandlerFor(b.opts.Gatherer, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Timeout:           10 * time.Second,
		EnableOpenMetrics: true,
	})))
	handle("GET /{$}", "index", b.index)
	return mux
}

func (b *Bridge) instrument(name string, h http.Handler) http.Handler {
	labels := prometheus.Labels{"handler": name}
	return promhttp.InstrumentHandlerDuration(b.metrics.httpDuration.MustCurryWith(labels),
		promhttp.InstrumentHandlerCounter(b.metrics.httpRequests.MustCurryWith(labels), h))
}

var indexPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>coc-bridge</title></head>
<body>
<h1>coc-bridge</h1>
<p>Alertmanager webhook receiver that opens Huawei Cloud COC issue tickets. Version {{.Version}}.</p>
<ul>
<li><code>POST <a href="api/v1/alerts">/api/v1/alerts</a></code>: the Alertmanager webhook</li>
<li><a href="api/v1/tickets">/api/v1/tickets</a>: the ledger (one entry per alert group; <code>?state=open</code>, <code>?key=</code>)</li>
<li><a href="api/v1/outbox">/api/v1/outbox</a>: pending and dead outbox items (<code>?state=dead</code>)</li>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="-/healthy">/-/healthy</a> and <a href="-/ready">/-/ready</a></li>
</ul>
</body></html>
`))

func (b *Bridge) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexPage.Execute(w, struct{ Version string }{b.opts.Version})
}

// ServerOptions configures Serve.
type ServerOptions struct {
	// WebConfigFile is a web configuration file in the format of Prometheus,
	// Alertmanager and every exporter (github.com/prometheus/exporter-toolkit):
	// TLS (certificates re-read at every handshake), client certificates,
	// HTTP basic auth with bcrypt hashes, HTTP/2 and response headers. It is
	// read again at every request and handshake, so a change applies without
	// a restart. "" serves plain HTTP with no authentication.
	WebConfigFile string
	// Public reports the requests the web configuration's basic auth does not
	// apply to (WebhookAuth.Public: the probes, and a webhook that checks its
	// own token). TLS applies to every request. nil: none.
	Public func(*http.Request) bool
	// Logger receives exporter-toolkit's log lines (it logs through
	// log/slog); nil discards them.
	Logger *slog.Logger
	// ShutdownGrace bounds how long in-flight requests may take after ctx
	// ends (default 10s).
	ShutdownGrace time.Duration
	// MaxHeaderBytes caps request headers (default 64 KiB); larger headers
	// are answered 431 Request Header Fields Too Large.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds reading a request's headers (default 5s): a
	// client sending them slowly (slowloris) is disconnected, with no
	// answer or a 400 when its request line was cut.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (default
	// 30s). A webhook body not read in time is answered as unreadable.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer, counted from the end of
	// reading the request's headers (default 30s).
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request (default 2m).
	IdleTimeout time.Duration
	// ErrorLog receives the server's own errors (TLS handshakes, broken
	// connections); nil means the standard library's default logger.
	ErrorLog *log.Logger
}

// Defaults of ServerOptions.
const (
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
)

// NewHTTPServer returns an http.Server for h with limits against slow and
// oversized clients: a slowloris gets cut off after ReadHeaderTimeout, a
// slow body after ReadTimeout, headers over MaxHeaderBytes get 431. Zero
// options take the defaults.
func NewHTTPServer(h http.Handler, opts ServerOptions) *http.Server {
	def := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: def(opts.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       def(opts.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      def(opts.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       def(opts.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		ErrorLog:          opts.ErrorLog,
	}
}

// Serve serves h on ln until ctx ends, then stops accepting connections and
// waits up to ShutdownGrace for requests in flight. It returns nil after a
// clean shutdown. exporter-toolkit serves the connections with
// WebConfigFile; requests for which Public reports true skip its basic auth.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts ServerOptions) error {
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv := NewHTTPServer(h, opts)
	if opts.Public != nil {
		// web.Serve wraps srv.Handler in the toolkit's authentication, then
		// runs srv's accept loop. ConnContext runs in that loop before the
		// first connection is served, so it can put the public endpoints in
		// front of the wrapper without a data race.
		var once sync.Once
		srv.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			once.Do(func() { srv.Handler = publicFirst(opts.Public, h, srv.Handler) })
			return ctx
		}
	}
	errc := make(chan error, 1)
	go func() {
		errc <- web.Serve(ln, srv, &web.FlagConfig{WebConfigFile: &opts.WebConfigFile}, opts.Logger)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	return nil
}

// publicFirst serves the requests public accepts with h directly and every
// other one with protected.
func publicFirst(public func(*http.Request) bool, h, protected http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public(r) {
			h.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

// ValidateWebConfig reads a web configuration file and its certificates and
// bcrypt hashes as Serve will, and reports the first problem.
func ValidateWebConfig(path string) error {
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("web config %s: %w", path, err)
	}
	return nil
}
