package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// envSpec is what coc-bridge reads from the environment, taken from the struct tags of
// the config type in cmd/coc-bridge, so a misspelled or removed variable in a manifest
// is caught.
type envSpec struct {
	known  map[string]bool
	secret map[string]bool // never as a literal value: pass it as a _FILE variable
}

func loadEnvSpec(repo string) (envSpec, error) {
	dir := filepath.Join(repo, "cmd", "coc-bridge")
	fset := token.NewFileSet()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return envSpec{}, fmt.Errorf("list %s: %w", dir, err)
	}
	spec := envSpec{known: map[string]bool{}, secret: map[string]bool{}}
	for _, path := range matches {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return envSpec{}, fmt.Errorf("parse %s: %w", path, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != "config" {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, field := range st.Fields.List {
				if field.Tag == nil {
					continue
				}
				raw, err := strconv.Unquote(field.Tag.Value)
				if err != nil {
					continue
				}
				tag := reflect.StructTag(raw)
				env, ok := tag.Lookup("env")
				if !ok {
					continue
				}
				n, _, _ := strings.Cut(env, ",")
				spec.known[n] = true
				if tag.Get("secret") == "true" {
					spec.secret[n] = true
				}
			}
			return false
		})
	}
	if len(spec.known) == 0 {
		return envSpec{}, fmt.Errorf("no `env:` struct tags found in type config in %s", dir)
	}
	// Not marked secret in the config, but the deployment rules treat them as secrets:
	// the access key identifies the account, and a store URL may carry a password.
	spec.secret["COC_BRIDGE_COC_ACCESS_KEY"] = true
	return spec, nil
}

// containerRules are the expectations on a coc-bridge container.
type containerRules struct {
	spec envSpec
	// secretDirs are the directories secret files may be read from.
	secretDirs []string
}

// checkContainer checks a coc-bridge container of a pod spec and returns its env as a map.
func (r containerRules) checkContainer(p *problems, where string, pod, c object) map[string]object {
	sc, _ := c["securityContext"].(object)
	podSC, _ := pod["securityContext"].(object)
	effective := func(key string) any {
		if v, ok := sc[key]; ok {
			return v
		}
		return podSC[key]
	}
	if effective("runAsNonRoot") != true {
		p.addf("%s: securityContext.runAsNonRoot must be true", where)
	}
	if uid := fmt.Sprint(effective("runAsUser")); uid != "65532" {
		p.addf("%s: securityContext.runAsUser must be 65532 (the image's nonroot user), is %s", where, uid)
	}
	if sc["readOnlyRootFilesystem"] != true {
		p.addf("%s: securityContext.readOnlyRootFilesystem must be true", where)
	}
	if sc["allowPrivilegeEscalation"] != false {
		p.addf("%s: securityContext.allowPrivilegeEscalation must be false", where)
	}
	if !slices.Contains(list(sc, "capabilities.drop"), any("ALL")) {
		p.addf("%s: securityContext.capabilities.drop must contain ALL", where)
	}
	seccomp := str(sc, "seccompProfile.type")
	if seccomp == "" {
		seccomp = str(podSC, "seccompProfile.type")
	}
	if seccomp != "RuntimeDefault" {
		p.addf("%s: seccompProfile.type must be RuntimeDefault, is %q", where, seccomp)
	}
	if path := str(c, "livenessProbe.httpGet.path"); path != "/-/healthy" {
		p.addf("%s: livenessProbe must GET /-/healthy, has %q", where, path)
	}
	if path := str(c, "readinessProbe.httpGet.path"); path != "/-/ready" {
		p.addf("%s: readinessProbe must GET /-/ready, has %q", where, path)
	}
	if get(c, "resources.limits.memory") == nil {
		p.addf("%s: resources.limits.memory must be set", where)
	}

	mounts := map[string]string{} // mount path -> volume name
	for _, m := range list(c, "volumeMounts") {
		mounts[str(m, "mountPath")] = str(m, "name")
	}
	if _, ok := mounts["/tmp"]; !ok {
		p.addf("%s: /tmp must be a mounted (emptyDir) volume; the root filesystem is read-only", where)
	}

	env := map[string]object{}
	for _, e := range list(c, "env") {
		eo, _ := e.(object)
		n := str(eo, "name")
		if _, dup := env[n]; dup {
			p.addf("%s: env %s is set twice", where, n)
		}
		env[n] = eo
		if strings.HasPrefix(n, "COC_BRIDGE_") && !r.spec.known[n] {
			p.addf("%s: env %s is not a variable coc-bridge reads (see cmd/coc-bridge config)", where, n)
		}
		value, hasValue := eo["value"].(string)
		if r.spec.secret[n] && hasValue {
			p.addf("%s: env %s has a literal value; mount the secret as a file and set %s_FILE", where, n, n)
		}
		if n == "COC_BRIDGE_STORE" && hasValue && (strings.HasPrefix(value, "postgres://") || strings.HasPrefix(value, "postgresql://")) {
			p.addf("%s: env COC_BRIDGE_STORE holds a PostgreSQL URL as a literal value; use COC_BRIDGE_STORE_FILE", where)
		}
		if (strings.HasSuffix(n, "_FILE") && r.spec.secret[strings.TrimSuffix(n, "_FILE")]) || n == "COC_BRIDGE_STORE_FILE" {
			if !hasValue || !underAny(value, r.secretDirs) {
				p.addf("%s: env %s must name a file under %s, is %q", where, n, strings.Join(r.secretDirs, " or "), value)
			} else if !mountedUnder(value, mounts) {
				p.addf("%s: env %s=%s is not under any volumeMount of the container", where, n, value)
			}
		}
	}
	for _, required := range []string{"COC_BRIDGE_INSTANCE"} {
		if _, ok := env[required]; !ok {
			p.addf("%s: env %s must be set explicitly (the same on every replica and HA peer)", where, required)
		}
	}
	if rid := env["COC_BRIDGE_REPLICA_ID"]; rid == nil || str(rid, "valueFrom.fieldRef.fieldPath") != "metadata.name" {
		p.addf("%s: env COC_BRIDGE_REPLICA_ID must come from the pod name (valueFrom.fieldRef.fieldPath: metadata.name)", where)
	}
	if store := env["COC_BRIDGE_STORE"]; store != nil {
		path := str(store, "value")
		if path == "" || !strings.HasPrefix(path, "/") {
			p.addf("%s: env COC_BRIDGE_STORE must be an absolute SQLite path on a volume, is %q", where, path)
		} else if !mountedUnder(path, mounts) {
			p.addf("%s: the SQLite file %s is not on a mounted volume (the root filesystem is read-only)", where, path)
		}
		if env["COC_BRIDGE_STORE_FILE"] != nil {
			p.addf("%s: COC_BRIDGE_STORE and COC_BRIDGE_STORE_FILE are both set; coc-bridge refuses that", where)
		}
	}
	return env
}

func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

func mountedUnder(path string, mounts map[string]string) bool {
	for m := range mounts {
		if m != "/" && strings.HasPrefix(path, strings.TrimSuffix(m, "/")+"/") {
			return true
		}
	}
	return false
}
