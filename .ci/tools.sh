#!/usr/bin/env bash
# Installs the pinned CI tools into $CI_BIN (outside the repository, keyed by version),
# skipping every tool that is already there; builds deploycheck from deploy/tools and
# generates the offline kubeconform schemas (cached by version). Needs Go; apt installs
# the shell linter when it is missing. A cold install takes several minutes.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$CI_BIN"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# go_install NAME PACKAGE VERSION [TAGS]: go install PACKAGE@VERSION as $CI_BIN/NAME-VERSION.
go_install() {
	local name=$1 pkg=$2 version=$3 tags=${4:-} dest tmp
	dest=$CI_BIN/$name-$version
	if [[ -x $dest ]]; then
		echo "  $name $version: cached"
		return 0
	fi
	tmp=$(mktemp -d "$CI_BIN/.install-XXXXXX")
	echo "  $name $version: installing $pkg@$version${tags:+ (tags $tags)}"
	GOBIN=$tmp go install ${tags:+-tags "$tags"} "$pkg@$version"
	mv "$tmp/$name" "$dest"
	rm -rf "$tmp"
}

# tools_module_build NAME PACKAGE VERSION: build a tool pinned by deploy/tools/go.mod.
tools_module_build() {
	local name=$1 pkg=$2 version=$3 dest
	dest=$CI_BIN/$name-$version
	if ! grep -q "^[[:space:]]*$pkg $version\b" "$TOOLS_MODULE/go.mod"; then
		die "deploy/tools/go.mod does not require $pkg $version (versions.sh and go.mod disagree)"
	fi
	if [[ -x $dest ]]; then
		echo "  $name $version: cached"
		return 0
	fi
	echo "  $name $version: building from deploy/tools"
	(cd "$TOOLS_MODULE" && go build -o "$dest.tmp" "$pkg") && mv "$dest.tmp" "$dest"
}

step "tools: install into $CI_BIN"
start=$SECONDS
# The Go builds run in parallel: their module downloads overlap.
pids=()
names=()
run_bg() {
	local name=$1
	shift
	"$@" >"$logs/$name.log" 2>&1 &
	pids+=("$!")
	names+=("$name")
}
run_bg helm go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
run_bg kubeconform go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
# Without the tag one service-discovery dependency is refused by the module proxy.
run_bg promtool go_install promtool github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_VERSION" remove_all_sd
run_bg amtool go_install amtool github.com/prometheus/alertmanager/cmd/amtool "$ALERTMANAGER_VERSION"
run_bg staticcheck go_install staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION"
run_bg dashboard-linter tools_module_build dashboard-linter github.com/grafana/dashboard-linter "$DASHBOARD_LINTER_VERSION"
failed=0
for i in "${!pids[@]}"; do
	if wait "${pids[$i]}"; then
		cat "$logs/${names[$i]}.log"
	else
		failed=1
		echo "  ${names[$i]}: FAILED" >&2
		cat "$logs/${names[$i]}.log" >&2
	fi
done
((failed == 0)) || die "tool installation failed"

echo "  deploycheck: building from deploy/tools"
(cd "$TOOLS_MODULE" && go build -o "$DEPLOYCHECK" ./deploycheck)

schemas=$(schema_dir)
if [[ -d $schemas ]]; then
	echo "  kubeconform schemas: cached in $schemas"
else
	echo "  kubeconform schemas: generating from k8s.io/kubernetes $KUBERNETES_VERSION and prometheus-operator $PROMETHEUS_OPERATOR_VERSION (controller-gen $CONTROLLER_TOOLS_VERSION)"
	(cd "$TOOLS_MODULE" && go run ./kubeschema -kubernetes "$KUBERNETES_VERSION" \
		-prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" -controller-gen "$CONTROLLER_TOOLS_VERSION" -out "$schemas")
fi

if command -v shellcheck >/dev/null 2>&1; then
	echo "  shellcheck: $(command -v shellcheck)"
else
	echo "  shellcheck: installing with apt"
	if ((EUID == 0)); then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
	else
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
	fi
fi
echo "  tools ready in $((SECONDS - start))s"
