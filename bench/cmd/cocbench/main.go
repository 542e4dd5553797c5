package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	bridgeBin   string
	runs        int
	duration    time.Duration
	stormGroups int
	outage      time.Duration
	postgresDSN string
	only        []string
	out         string
	keep        bool
	extraEnv    []string
	hz          int64
	// Issue 14's scenarios (issue14.go).
	rounds         int
	newGroups      int
	refreshTickets int
	refreshFor     time.Duration
	backlogGroups  int
	replicaGroups  int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		if err := runFloor(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "cocbench floor:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "soak" {
		os.Exit(soakMain(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run1(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cocbench:", err)
		os.Exit(1)
	}
}

func run1(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cocbench", flag.ContinueOnError)
	var cfg config
	var only string
	quick := fs.Bool("quick", false, "smoke mode: 1 run, 2 s loads, 300-group storm, 4 s outage")
	fs.StringVar(&cfg.bridgeBin, "bridge", "", "path of the coc-bridge binary (required)")
	fs.IntVar(&cfg.runs, "runs", 3, "runs per scenario (the median is reported)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of the steady, ha, rate1000 and trickle loads")
	fs.IntVar(&cfg.stormGroups, "storm-groups", 10000, "new groups in the storm")
	fs.DurationVar(&cfg.outage, "outage", 60*time.Second, "how long COC is down in the outage scenarios")
	fs.StringVar(&cfg.postgresDSN, "postgres", os.Getenv("COC_BRIDGE_TEST_POSTGRES_DSN"), "PostgreSQL DSN for steady-postgres (a database is created per run); empty skips it")
	fs.StringVar(&only, "scenarios", "", "comma list of scenarios to run (default all)")
	fs.StringVar(&cfg.out, "json", "", "also write every run's numbers to this JSON file")
	fs.BoolVar(&cfg.keep, "keep", false, "keep each run's directory (bridge log, store)")
	fs.IntVar(&cfg.rounds, "rounds", 5, "interleaved floor/bridge rounds of the repeats, new-groups and ha3 scenarios (at least 3)")
	fs.IntVar(&cfg.newGroups, "new-groups", 4000, "new groups per round of the new-groups scenarios")
	fs.IntVar(&cfg.refreshTickets, "refresh-tickets", 100000, "open tickets seeded for refresher-100k")
	fs.DurationVar(&cfg.refreshFor, "refresh-duration", 2*time.Minute, "how long new groups arrive in refresher-100k (the refresher's first round comes 30 s after the start)")
	fs.IntVar(&cfg.backlogGroups, "backlog-groups", 20000, "groups accepted while COC is down in backlog-20k")
	fs.IntVar(&cfg.replicaGroups, "replica-groups", 600, "new groups sent to the three replicas in replicas-postgres")
	fs.Func("bridge-env", "extra NAME=VALUE for the bridge in every scenario, after the scenario's own (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want NAME=VALUE, got %q", v)
		}
		cfg.extraEnv = append(cfg.extraEnv, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.bridgeBin == "" {
		return errors.New("-bridge is required")
	}
	if *quick {
		cfg.runs, cfg.duration, cfg.stormGroups, cfg.outage = 1, 2*time.Second, 300, 4*time.Second
		cfg.rounds, cfg.newGroups, cfg.refreshTickets, cfg.refreshFor = 3, 500, 2000, 5*time.Second
		cfg.backlogGroups, cfg.replicaGroups = 500, 60
	}
	cfg.rounds = max(cfg.rounds, 3)
	if only != "" {
		cfg.only = strings.Split(only, ",")
	}
	cfg.hz = clockTicks()

	fmt.Fprintf(stdout, "# cocbench %s, GOMAXPROCS %d, runs %d, duration %v, storm %d groups, outage %v, extra bridge env %q\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.GOMAXPROCS(0), cfg.runs, cfg.duration, cfg.stormGroups, cfg.outage, cfg.extraEnv)
	all := map[string][]metrics{}
	for _, sc := range scenarios() {
		if cfg.only != nil && !slices.Contains(cfg.only, sc.name) {
			continue
		}
		runs := cfg.runs
		if sc.runs != nil {
			runs = min(runs, sc.runs(cfg))
		}
		if sc.rounds != nil {
			fmt.Fprintf(os.Stderr, "scenario %s\n", sc.name)
			results, err := sc.rounds(ctx, cfg)
			if errors.Is(err, errSkip) {
				fmt.Fprintf(stdout, "## %s\n\nskipped (no PostgreSQL DSN: set COC_BRIDGE_TEST_POSTGRES_DSN or -postgres)\n\n", sc.name)
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			all[sc.name] = results
			report(stdout, sc, results)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		fmt.Fprintf(os.Stderr, "scenario %s (%d runs)\n", sc.name, runs)
		var results []metrics
		for i := range runs {
			start := time.Now()
			m, err := sc.run(ctx, cfg)
			if errors.Is(err, errSkip) {
				fmt.Fprintf(stdout, "## %s\n\nskipped (no PostgreSQL DSN: set COC_BRIDGE_TEST_POSTGRES_DSN or -postgres)\n\n", sc.name)
				break
			}
			if err != nil {
				return fmt.Errorf("%s run %d: %w", sc.name, i+1, err)
			}
			fmt.Fprintf(os.Stderr, "  run %d: %.1fs\n", i+1, time.Since(start).Seconds())
			results = append(results, m)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if len(results) == 0 {
			continue
		}
		all[sc.name] = results
		report(stdout, sc, results)
	}
	if cfg.out != "" {
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.out, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// report prints the median, minimum and maximum of every metric and each
// run's (or round's) value.
func report(w io.Writer, sc scenario, results []metrics) {
	fmt.Fprintf(w, "## %s\n\n%s\n\n| metric | median | min | max | runs |\n|---|---:|---:|---:|---|\n", sc.name, sc.about)
	names := map[string]bool{}
	for _, m := range results {
		for k := range m {
			names[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(names)) {
		var vals []float64
		var each []string
		for _, m := range results {
			vals = append(vals, m[k])
			each = append(each, format(m[k]))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", k, format(median(vals)), format(slices.Min(vals)), format(slices.Max(vals)), strings.Join(each, ", "))
	}
	fmt.Fprintln(w)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func format(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e9:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
