package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/coc-bridge/coc-bridge/internal/logthrottle"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// liveMapper is the bridge's mapper: each call uses the mapper in force at
// that moment, swapped whole on a successful reload.
type liveMapper struct {
	p atomic.Pointer[mapping.Mapper]
}

// Split splits a notification into its issue keys' parts.
func (l *liveMapper) Split(msg *mapping.Message) []*mapping.Message { return l.p.Load().Split(msg) }

// Key returns the issue key of a part.
func (l *liveMapper) Key(msg *mapping.Message) string { return l.p.Load().Key(msg) }

// Level returns the COC level of a part.
func (l *liveMapper) Level(msg *mapping.Message) (string, int) { return l.p.Load().Level(msg) }

// Map renders the ticket of a part.
func (l *liveMapper) Map(msg *mapping.Message, opts mapping.MapOptions) (mapping.Ticket, error) {
	return l.p.Load().Map(msg, opts)
}

// Policy returns a receiver's lifecycle policy.
func (l *liveMapper) Policy(receiver string) mapping.Policy { return l.p.Load().Policy(receiver) }

// Lookups returns the lookup policy.
func (l *liveMapper) Lookups() mapping.Lookups { return l.p.Load().Lookups() }

// LevelChangeReason returns the reason of a level change.
func (l *liveMapper) LevelChangeReason(msg *mapping.Message, from, to string, at time.Time) string {
	return l.p.Load().LevelChangeReason(msg, from, to, at)
}

// RevocationReason returns the reason of a cancel.
func (l *liveMapper) RevocationReason(msg *mapping.Message, received time.Time) string {
	return l.p.Load().RevocationReason(msg, received)
}

// SolutionText returns the solution text of a resolved group.
func (l *liveMapper) SolutionText(msg *mapping.Message, received time.Time) string {
	return l.p.Load().SolutionText(msg, received)
}

// reloader reloads the mapping (COC_BRIDGE_MAPPING_FILE over the
// environment) on SIGHUP and POST /-/reload. An invalid file keeps the
// mapping in force; coc_bridge_config_last_reload_successful says which
// happened.
type reloader struct {
	cfg  *config
	log  *zap.Logger
	live liveMapper
	now  func() time.Time
	// failures rate-limits the lines of failed reloads (a config-reloader
	// retrying a broken file).
	failures *logthrottle.Throttle

	mu      sync.Mutex // one reload at a time
	current mapping.Config

	successful  prometheus.Gauge
	successTime prometheus.Gauge
}

// newReloader starts with cfg's mapping (loaded and validated by
// loadConfig) and registers the reload metrics.
func newReloader(cfg *config, log *zap.Logger, reg prometheus.Registerer) (*reloader, error) {
	m, err := mapping.New(cfg.mapping)
	if err != nil {
		return nil, err
	}
	r := &reloader{cfg: cfg, log: log, now: time.Now, current: cfg.mapping,
		failures: logthrottle.New(log, logthrottle.Options{Interval: 10 * time.Second}),
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "coc_bridge_config_last_reload_successful",
			Help: "Whether the last reload of the mapping file succeeded (1) or kept the previous mapping (0).",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "coc_bridge_config_last_reload_success_timestamp_seconds",
			Help: "When the mapping was last loaded successfully (at start or by a reload), as a Unix time.",
		}),
	}
	if err := registerAll(reg, r.successful, r.successTime); err != nil {
		return nil, err
	}
	r.live.p.Store(m)
	r.successful.Set(1)
	r.successTime.Set(float64(r.now().UnixNano()) / 1e9)
	return r, nil
}

func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// mapper is what the bridge maps with.
func (r *reloader) mapper() *liveMapper { return &r.live }

// reload reads the mapping file again. On success the next call of the
// bridge's mapper uses it and the settings that changed are logged; on
// failure the mapping in force stays and the error is returned.
func (r *reloader) reload(trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := r.cfg.mappingConfig()
	var m *mapping.Mapper
	if err == nil {
		m, err = mapping.New(next)
	}
	if err != nil {
		r.successful.Set(0)
		r.failures.Warn(r.cfg.MappingFile, trigger, "reload failed; the mapping in force is kept", zap.Error(err))
		return err
	}
	changed := changedSettings(r.current, next)
	r.live.p.Store(m)
	r.current = next
	r.successful.Set(1)
	r.successTime.Set(float64(r.now().UnixNano()) / 1e9)
	r.log.Info("mapping reloaded", zap.String("trigger", trigger), zap.String("file", r.cfg.MappingFile),
		zap.Strings("changed", changed))
	if w := r.cfg.nameSettings(next.WarningErrors()); w != nil {
		r.log.Warn("COC will reject tickets until this is set; they are dead-lettered and can be replayed (coc-bridge outbox replay)",
			zap.Error(w))
	}
	return nil
}

// ServeHTTP is POST /-/reload: 200 when the mapping was reloaded, 500 with
// the reason when the mapping in force was kept (as Prometheus answers).
func (r *reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: use POST", http.StatusMethodNotAllowed)
		return
	}
	if err := r.reload("http"); err != nil {
		http.Error(w, "reload failed, the mapping in force is kept: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "mapping reloaded")
}

// hangups returns a channel receiving SIGHUP from now on, and the function
// that stops it. Registered before the daemon listens, a SIGHUP can never
// take the default action (terminating the process) while it serves.
func hangups() (<-chan os.Signal, func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup, func() { signal.Stop(hup) }
}

// onHangup reloads on each signal from hup until ctx ends.
func (r *reloader) onHangup(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.reload("SIGHUP") // logged and counted by reload
		}
	}
}

// changedSettings lists the settings (yaml paths, such as levels.critical or
// receivers.team-a.title) whose values differ between two mappings.
func changedSettings(before, after mapping.Config) []string {
	a, b := flatten(before), flatten(after)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(union(a, b))) {
		if !reflect.DeepEqual(a[k], b[k]) {
			out = append(out, k)
		}
	}
	return out
}

// flatten maps each leaf of c's YAML form to its value, by dotted path.
func flatten(c mapping.Config) map[string]any {
	out := map[string]any{}
	b, err := yaml.Marshal(c)
	if err != nil {
		return out
	}
	var tree map[string]any
	if yaml.Unmarshal(b, &tree) != nil {
		return out
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, child := range m {
				walk(strings.TrimPrefix(prefix+"."+k, "."), child)
			}
			return
		}
		out[prefix] = v
	}
	walk("", tree)
	return out
}

func union(a, b map[string]any) map[string]any {
	u := maps.Clone(a)
	maps.Copy(u, b)
	return u
}
