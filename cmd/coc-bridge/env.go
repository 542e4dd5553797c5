package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// environ is the environment a run reads: the process's (osEnviron) or a
// test's. Unlike a bare lookup function it can list its names, so that a
// mistyped variable is an error rather than a silently ignored setting.
type environ map[string]string

// osEnviron returns the process environment.
func osEnviron() environ {
	env := environ{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Lookup returns the variable's value and whether it is set.
func (e environ) Lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// envPrefix starts every variable coc-bridge reads.
const envPrefix = "COC_BRIDGE_"

// reservedPrefixes start variables of the project's own tests and CI
// scripts, which a run ignores.
var reservedPrefixes = []string{"COC_BRIDGE_TEST_", "COC_BRIDGE_CI_", "COC_BRIDGE_E2E_", "COC_BRIDGE_UPDATE_"}

// removedVariables are variables of earlier releases, with what replaces
// them. Setting one is an error: ignoring it could serve plain HTTP, or no
// authentication, where the operator asked for them.
var removedVariables = map[string]string{
	"COC_BRIDGE_TLS_CERT_FILE":               "use COC_BRIDGE_WEB_CONFIG_FILE (tls_server_config: cert_file, key_file)",
	"COC_BRIDGE_TLS_KEY_FILE":                "use COC_BRIDGE_WEB_CONFIG_FILE (tls_server_config: cert_file, key_file)",
	"COC_BRIDGE_WEBHOOK_BASIC_USER":          "use COC_BRIDGE_WEB_CONFIG_FILE (basic_auth_users, with bcrypt hashes) or COC_BRIDGE_WEBHOOK_BEARER_TOKEN",
	"COC_BRIDGE_WEBHOOK_BASIC_PASSWORD":      "use COC_BRIDGE_WEB_CONFIG_FILE (basic_auth_users, with bcrypt hashes) or COC_BRIDGE_WEBHOOK_BEARER_TOKEN",
	"COC_BRIDGE_WEBHOOK_BASIC_PASSWORD_FILE": "use COC_BRIDGE_WEB_CONFIG_FILE (basic_auth_users, with bcrypt hashes) or COC_BRIDGE_WEBHOOK_BEARER_TOKEN",
}

// checkNames reports every COC_BRIDGE_* variable that coc-bridge does not
// read: a removed one with its replacement, an unknown one with the known
// variable it most likely misspells.
func (e environ) checkNames() error {
	known := map[string]bool{}
	var names []string
	for _, v := range envVars() {
		known[v.Name] = true
		names = append(names, v.Name)
	}
	var unknown []string
	for name := range e {
		if strings.HasPrefix(name, envPrefix) && !known[name] && !slices.ContainsFunc(reservedPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	var errs []error
	for _, name := range unknown {
		if use, ok := removedVariables[name]; ok {
			errs = append(errs, fmt.Errorf("%s was removed: %s", name, use))
			continue
		}
		msg := name + " is not a coc-bridge variable"
		if guess := closest(name, names); guess != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", guess)
		}
		errs = append(errs, errors.New(msg+"; 'coc-bridge serve --help' lists them"))
	}
	return errors.Join(errs...)
}

// closest returns the name nearest to s by edit distance, when it is near
// enough to be a typo (at most a third of its length apart), or "".
func closest(s string, names []string) string {
	s = strings.TrimPrefix(s, envPrefix)
	best, bestDist := "", len(s)/3+1
	for _, n := range names {
		if d := editDistance(s, strings.TrimPrefix(n, envPrefix)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (ASCII names), with a
// swap of two neighbouring letters counted as one edit.
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
