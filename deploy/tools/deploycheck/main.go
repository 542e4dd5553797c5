// Command deploycheck checks the deployment artefacts under deploy/ for the rules that
// schema validators and linters cannot see: secrets only as files, the hardened security
// context, environment variable names that coc-bridge really reads, the Alertmanager
// sidecar example, helm-docs comments on every chart value, and the NOTES snippet.
//
// Usage:
//
//	deploycheck values-doc [-readme README.md [-write]] VALUES.yaml
//	deploycheck manifests -src REPO [-rules RULES.yaml] RENDERED.yaml
//	deploycheck notes -url URL -out alertmanager.yml RENDERED.yaml
//	deploycheck sidecar -src REPO -out DIR VALUES.yaml
//	deploycheck dockerfile Dockerfile
//
// REPO is the repository root: the variable names are read from the config struct in
// cmd/coc-bridge. Every subcommand prints what it checked and exits 1 on the first
// file with problems, listing all of them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "deploycheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: deploycheck values-doc|manifests|notes|sidecar|dockerfile ...")
	}
	switch args[0] {
	case "values-doc":
		return valuesDoc(args[1:])
	case "manifests":
		return manifests(args[1:])
	case "notes":
		return notes(args[1:])
	case "sidecar":
		return sidecar(args[1:])
	case "dockerfile":
		return dockerfile(args[1:])
	default:
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
}

// parse parses a subcommand's flags and returns its one argument, a file.
// No argument, more than one, or an empty required flag fails with the
// subcommand's usage.
func parse(fs *flag.FlagSet, args []string, usage string, required ...*string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 || slices.ContainsFunc(required, func(v *string) bool { return *v == "" }) {
		return "", fmt.Errorf("%s: usage: %s", fs.Name(), usage)
	}
	return fs.Arg(0), nil
}

// problems collects findings so a run reports all of them at once.
type problems []string

func (p *problems) addf(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

func (p problems) err(what string) error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d problem(s):\n  - %s", what, len(p), strings.Join(p, "\n  - "))
}
