#!/usr/bin/env bash
# Checks every deployment artefact under deploy/ with the real tools (installed by
# .ci/tools.sh): the Helm chart (lint, render, kubeconform against offline schemas, the
# chart's own rules, NOTES), the Alertmanager sidecar examples, the Prometheus rules and
# their unit tests, the Alertmanager example, the Grafana dashboard, the Dockerfile, the
# copies the chart ships, and the CI scripts themselves.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in "$HELM" "$KUBECONFORM" "$PROMTOOL" "$AMTOOL" "$DASHBOARD_LINTER" "$DEPLOYCHECK"; do
	[[ -x $tool ]] || die "$tool is missing: run .ci/tools.sh first"
done
SCHEMAS=$(schema_dir)
[[ -d $SCHEMAS ]] || die "kubeconform schemas are missing: run .ci/tools.sh first"
command -v shellcheck >/dev/null 2>&1 || die "shellcheck is missing: run .ci/tools.sh first"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
cd "$REPO_ROOT"

RELEASE=coc-bridge-ci
NAMESPACE=monitoring
MONITORING_APIS=(--api-versions monitoring.coreos.com/v1/ServiceMonitor --api-versions monitoring.coreos.com/v1/PrometheusRule)

# amtool_check FILE: amtool check-config, printing its first line ("Checking ... SUCCESS").
amtool_check() {
	if ! "$AMTOOL" check-config "$1" >"$work/amtool.out" 2>&1; then
		cat "$work/amtool.out"
		die "amtool check-config $1 failed"
	fi
	head -n 1 "$work/amtool.out"
}

kubeconform() {
	"$KUBECONFORM" -strict -summary -schema-location "$SCHEMAS/{{.ResourceKind}}{{.KindSuffix}}.json" "$@"
}

# ---------------------------------------------------------------------------------------
step "copies the chart ships are identical to their sources"
cmp deploy/grafana/coc-bridge.json deploy/helm/coc-bridge/dashboards/coc-bridge.json
cmp deploy/prometheus/coc-bridge-rules.yaml deploy/helm/coc-bridge/rules/coc-bridge-rules.yaml
echo "  dashboard and rules copies OK"

step "root 'go test ./...' does not descend into the deploy/tools module"
root_dirs=$(go list -e -f '{{.Dir}}' ./... 2>/dev/null || true)
[[ $root_dirs == *"$REPO_ROOT/deploy"* ]] || die "go list ./... at the root does not list deploy/ (unexpected)"
if [[ $root_dirs == *"/deploy/tools"* ]]; then
	die "the root module lists packages under deploy/tools; it needs its own go.mod"
fi
[[ -f deploy/tools/go.mod ]] || die "deploy/tools/go.mod is missing"
echo "  deploy/tools is a separate module"

# ---------------------------------------------------------------------------------------
step "helm chart: values documented (helm-docs '# --' comments) and README values table current"
"$DEPLOYCHECK" values-doc -readme "$CHART/README.md" "$CHART/values.yaml"

step "helm lint --strict (default values and every ci/*-values.yaml)"
"$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART"
for values in "$CHART"/ci/*-values.yaml; do
	"$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART" -f "$values"
done

step "kubeconform schema self-test: a misspelled field and a numeric label must be rejected"
cat >"$work/invalid.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: misspelled
spec:
  prots:
    - port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: numeric-label
  labels:
    tier: 1
YAML
if kubeconform "$work/invalid.yaml" >"$work/invalid.out" 2>&1; then
	cat "$work/invalid.out"
	die "kubeconform accepted invalid manifests: the generated schemas are not strict"
fi
grep -q "Invalid: 2" "$work/invalid.out" || {
	cat "$work/invalid.out"
	die "kubeconform should report exactly 2 invalid resources"
}
echo "  both rejected"

# render NAME [helm template args...]: render the chart into $work/NAME.yaml and check it.
render() {
	local name=$1
	shift
	echo "  -- $name"
	"$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" "$@" >"$work/$name.yaml"
	kubeconform "$work/$name.yaml"
	"$DEPLOYCHECK" manifests -src "$REPO_ROOT" -rules deploy/prometheus/coc-bridge-rules.yaml \
		-rules-out "$work/$name-rules.yaml" "$work/$name.yaml"
}

step "helm template (Kubernetes $KUBE_VERSION) + kubeconform -strict + manifest rules"
render default
for values in "$CHART"/ci/*-values.yaml; do
	render "$(basename "$values" .yaml)" -f "$values" "${MONITORING_APIS[@]}"
done

step "the rendered chart has the expected objects"
expect_kinds() {
	local file=$1
	shift
	local kind
	for kind in "$@"; do
		grep -q "^kind: $kind\$" "$work/$file.yaml" || die "$file: no $kind rendered"
	done
}
reject_kinds() {
	local file=$1
	shift
	local kind
	for kind in "$@"; do
		if grep -q "^kind: $kind\$" "$work/$file.yaml"; then
			die "$file: unexpected $kind rendered"
		fi
	done
}
expect_kinds default Deployment Service PersistentVolumeClaim PodDisruptionBudget ConfigMap ServiceAccount
reject_kinds default Secret ServiceMonitor PrometheusRule NetworkPolicy
expect_kinds sqlite-values Secret PersistentVolumeClaim
expect_kinds postgres-values Deployment
reject_kinds postgres-values PersistentVolumeClaim Secret
expect_kinds postgres-dsn-values Secret
expect_kinds sidecar-values NetworkPolicy
reject_kinds sidecar-values PersistentVolumeClaim Secret
expect_kinds monitoring-values ServiceMonitor PrometheusRule
echo "  OK"

step "ServiceMonitor and PrometheusRule are skipped without monitoring.coreos.com/v1"
"$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" \
	-f "$CHART/ci/monitoring-values.yaml" >"$work/monitoring-no-crds.yaml"
reject_kinds monitoring-no-crds ServiceMonitor PrometheusRule
echo "  OK"

step "helm template must FAIL: SQLite with replicaCount > 1, and other invalid values"
must_fail() {
	local want=$1
	shift
	if "$HELM" template "$RELEASE" "$CHART" --kube-version "$KUBE_VERSION" "$@" >/dev/null 2>"$work/fail.err"; then
		die "helm template $* rendered, but must fail"
	fi
	grep -q -- "$want" "$work/fail.err" || {
		cat "$work/fail.err" >&2
		die "helm template $* failed without the message: $want"
	}
	echo "  refused ($*): $want"
}
must_fail "a SQLite file serves exactly one replica" --set replicaCount=2
must_fail "a SQLite file serves exactly one replica" --set replicaCount=3 --set store.type=sqlite --set persistence.enabled=false
must_fail "set postgres.dsn" --set store.type=postgres
must_fail "at '/store/type': value must be one of 'sqlite', 'postgres'" --set store.type=mysql
must_fail "must be a postgres:// or postgresql:// URL" --set store.type=postgres --set postgres.dsn=host=db
must_fail "at '/config/dedupeBy': value must be one of 'group', 'alert', 'groupkey'" --set config.dedupeBy=ticket
# values.schema.json: types, enums, and no key the chart does not know.
must_fail "at '/replicaCount': got string, want integer" --set replicaCount=two
must_fail "at '/config/qps': got string, want number" --set config.qps=fast
must_fail "at '/config': additional properties 'qpss' not allowed" --set config.qpss=5
must_fail "additional properties 'replicas' not allowed" --set replicas=2
must_fail "at '/config/logLevel': value must be one of" --set config.logLevel=loud
must_fail "at '/config/defaultLevel': value must be one of" --set config.defaultLevel=issues_level_5000
must_fail "at '/webConfig': additional properties 'existingSecretName' not allowed" --set webConfig.existingSecretName=x
must_fail "not both" --set coc.existingSecret=x --set coc.accessKey=y

step "the chart's PrometheusRule is deploy/prometheus/coc-bridge-rules.yaml: promtool check rules on the rendered spec"
"$PROMTOOL" check rules "$work/monitoring-values-rules.yaml"

step "NOTES.txt prints a valid Alertmanager receiver for the release (amtool check-config)"
notes_chart=$work/notes-chart
cp -R "$CHART" "$notes_chart"
mv "$notes_chart/templates/NOTES.txt" "$notes_chart/NOTES.tpl"
cat >"$notes_chart/templates/zz-notes.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: rendered-notes
data:
  NOTES.txt: {{ tpl (.Files.Get "NOTES.tpl") . | quote }}
YAML
# notes NAME with-token|no-token [helm args...]
notes() {
	local name=$1 token=$2
	shift 2
	local flags=()
	[[ $token == with-token ]] && flags+=(-bearer)
	"$HELM" template "$RELEASE" "$notes_chart" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" \
		--show-only templates/zz-notes.yaml "$@" >"$work/notes-$name.yaml"
	"$DEPLOYCHECK" notes -url "http://$RELEASE.$NAMESPACE.svc:9096/api/v1/alerts" "${flags[@]}" \
		-out "$work/notes-$name-alertmanager.yml" "$work/notes-$name.yaml"
	amtool_check "$work/notes-$name-alertmanager.yml"
}
notes default no-token
notes sqlite with-token -f "$CHART/ci/sqlite-values.yaml"
notes sidecar with-token -f "$CHART/ci/sidecar-values.yaml"
notes postgres no-token -f "$CHART/ci/postgres-values.yaml"

# ---------------------------------------------------------------------------------------
step "Alertmanager sidecar examples (kube-prometheus-stack): container rules, CRD schema, amtool"
for example in deploy/examples/kube-prometheus-stack-sidecar-values.yaml deploy/examples/kube-prometheus-stack-sidecar-ha-values.yaml; do
	out=$work/$(basename "$example" .yaml)
	mkdir -p "$out"
	"$DEPLOYCHECK" sidecar -src "$REPO_ROOT" -out "$out" "$example"
	kubeconform "$out/alertmanager.yaml"
	amtool_check "$out/alertmanager.yml"
done
kubeconform deploy/examples/kube-prometheus-stack-sidecar-podmonitor.yaml

# ---------------------------------------------------------------------------------------
step "Prometheus rules: promtool check rules + promtool test rules"
"$PROMTOOL" check rules deploy/prometheus/coc-bridge-rules.yaml
(cd deploy/prometheus && "$PROMTOOL" test rules coc-bridge-rules.test.yaml)

step "Alertmanager example: amtool check-config (as shipped, and with its auth block enabled)"
amtool_check deploy/alertmanager/alertmanager.yml
[[ $(grep -c 'url: ' deploy/alertmanager/alertmanager.yml) == 1 ]] ||
	die "deploy/alertmanager/alertmanager.yml must have exactly one url (the e2e test substitutes it)"
sed -E 's/^( +)# (http_config:|  authorization:|    type: Bearer|    credentials_file:)/\1\2/' \
	deploy/alertmanager/alertmanager.yml >"$work/alertmanager-auth.yml"
grep -q '^ *http_config:' "$work/alertmanager-auth.yml" || die "the commented auth block of alertmanager.yml was not found"
amtool_check "$work/alertmanager-auth.yml"

step "Grafana dashboard: dashboard-linter lint --strict"
"$DASHBOARD_LINTER" lint --strict deploy/grafana/coc-bridge.json >"$work/lint.out" 2>&1 || {
	cat "$work/lint.out"
	die "dashboard-linter found problems"
}
grep -v '^Checks ' "$work/lint.out" || true
echo "  OK"

step "Dockerfile: static checks (hadolint is not installable here)"
"$DEPLOYCHECK" dockerfile deploy/Dockerfile

step "shellcheck .ci/run .ci/*.sh bench/*.sh"
shellcheck -x .ci/run .ci/*.sh bench/*.sh
echo "  OK"

step "deploy checks passed in $((SECONDS - start))s"
