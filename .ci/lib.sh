#!/usr/bin/env bash
# Shared by the .ci scripts (sourced): repository paths, pinned versions, where the
# tools are installed, and step logging.
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CI_DIR/.." && pwd)
# shellcheck source=.ci/versions.sh
. "$CI_DIR/versions.sh"

# Tools live outside the repository, one file per tool and version, so a rerun skips
# every build and a version bump installs next to the old one.
CI_CACHE=${COC_BRIDGE_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/coc-bridge-ci}
CI_BIN=$CI_CACHE/bin
HELM=$CI_BIN/helm-$HELM_VERSION
KUBECONFORM=$CI_BIN/kubeconform-$KUBECONFORM_VERSION
PROMTOOL=$CI_BIN/promtool-$PROMETHEUS_VERSION
AMTOOL=$CI_BIN/amtool-$ALERTMANAGER_VERSION
STATICCHECK=$CI_BIN/staticcheck-$STATICCHECK_VERSION
DASHBOARD_LINTER=$CI_BIN/dashboard-linter-$DASHBOARD_LINTER_VERSION
# Built from deploy/tools on every run (seconds with a warm build cache), so it always
# matches the checked-out sources.
DEPLOYCHECK=$CI_BIN/deploycheck
# Offline kubeconform schemas, keyed by their sources and the generator's code.
SCHEMA_DIR=$CI_CACHE/schemas/k8s-$KUBERNETES_VERSION-promop-$PROMETHEUS_OPERATOR_VERSION-cg-$CONTROLLER_TOOLS_VERSION

TOOLS_MODULE=$REPO_ROOT/deploy/tools
CHART=$REPO_ROOT/deploy/helm/coc-bridge

step() {
	printf '\n==> %s\n' "$*"
}

die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 1
}

# schema_dir prints the schema directory for the current generator source.
schema_dir() {
	local hash
	hash=$(cat "$TOOLS_MODULE/kubeschema/"*.go | sha256sum | cut -c1-12)
	printf '%s-%s\n' "$SCHEMA_DIR" "$hash"
}
