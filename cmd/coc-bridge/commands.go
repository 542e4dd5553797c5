package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/prometheus/common/version"
)

// Exit codes, documented in the package comment and the README.
const (
	exitOK      = 0
	exitFailure = 1
	exitInvalid = 2
)

// app is one invocation of coc-bridge: where it reads its environment and
// writes its output. main builds one from the process; tests build one
// directly to run the whole daemon in-process and observe it.
type app struct {
	env    environ
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// listening, when set, is called with the bound address once the HTTP
	// server of serve or demo accepts connections (tests use :0).
	listening func(net.Addr)
}

// command is one subcommand.
type command struct {
	name    string
	args    string // usage after the name, e.g. "--payload FILE"
	summary string // one line for the overview
	about   string // a paragraph for --help
	// run defines its flags on fs, parses args with a.parse and runs.
	run func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error
}

func commands() []command {
	return []command{
		serveCommand(), checkCommand(), renderCommand(), sendTestCommand(),
		ticketsCommand(), outboxCommand(), fakeCOCCommand(), demoCommand(), versionCommand(),
	}
}

// run executes one coc-bridge command line and returns the exit code.
func run(ctx context.Context, args []string, env environ, stdout, stderr io.Writer) int {
	a := &app{env: env, stdin: os.Stdin, stdout: stdout, stderr: stderr}
	return a.exit(a.run(ctx, args))
}

func (a *app) run(ctx context.Context, args []string) error {
	name := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			if len(args) > 1 && args[0] == "help" {
				return a.run(ctx, []string{args[1], "--help"})
			}
			a.overview(a.stdout)
			return nil
		case "-version", "--version":
			return a.printVersion()
		}
		if !strings.HasPrefix(args[0], "-") {
			name, args = args[0], args[1:]
		}
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, a, a.newFlagSet(c), args)
		}
	}
	a.overview(a.stderr)
	return usageError{fmt.Errorf("unknown command %q", name)}
}

// exit prints err (one "coc-bridge: " line per error line) and maps it to
// the exit code.
func (a *app) exit(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(a.stderr, "coc-bridge: %s\n", line)
	}
	var ce configError
	var ue usageError
	if errors.As(err, &ce) || errors.As(err, &ue) {
		return exitInvalid
	}
	return exitFailure
}

// configError is an invalid setting: exit code 2.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// usageError is a bad command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// newFlagSet returns a flag set whose usage names the command and its
// description.
func (a *app) newFlagSet(c command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace("coc-bridge "+c.name+" "+c.args), c.about)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args: --help prints the usage on stdout and returns
// flag.ErrHelp (exit 0); a bad flag or a positional argument is a
// usageError (exit 2) pointing at --help.
func (a *app) parse(fs *flag.FlagSet, args []string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = a.stdout.Write(out.Bytes())
		return err
	case err == nil && fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		return usageError{fmt.Errorf("%s: %w (see 'coc-bridge %s --help')", fs.Name(), err, fs.Name())}
	}
	return nil
}

func (a *app) overview(w io.Writer) {
	fmt.Fprintf(w, "coc-bridge turns Alertmanager webhooks into Huawei Cloud COC issue tickets.\n\n")
	fmt.Fprintf(w, "Usage: coc-bridge [command] [flags]   (configuration: COC_BRIDGE_* environment variables)\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'coc-bridge COMMAND --help' for a command's flags; 'coc-bridge serve --help' lists every environment variable.\n")
	fmt.Fprintf(w, "Exit codes: 0 success, 1 runtime failure, 2 invalid configuration or usage.\n")
}

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the version",
		about:   "Print the version, branch and revision of coc-bridge and the Go release it was built with.",
		run: func(_ context.Context, a *app, fs *flag.FlagSet, args []string) error {
			if err := a.parse(fs, args); err != nil {
				return err
			}
			return a.printVersion()
		},
	}
}

func (a *app) printVersion() error {
	_, err := fmt.Fprintln(a.stdout, strings.Replace(version.Print("coc-bridge"), "version  (", "version "+appVersion()+" (", 1))
	return err
}

// appVersion is the version stamped at build time with
// -ldflags "-X github.com/prometheus/common/version.Version=...", or "dev".
// Revision and Branch are stamped the same way; the revision defaults to the
// one Go records from version control.
func appVersion() string {
	if version.Version == "" {
		return "dev"
	}
	return version.Version
}
