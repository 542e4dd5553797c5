#!/usr/bin/env bash
# End-to-end test against a real Alertmanager: installs the pinned Alertmanager server and
# amtool into $CI_BIN (outside the repository, keyed by version) when missing, checks the
# example config with amtool, then runs the e2e test package (go test -tags e2e -race).
# COC_BRIDGE_TEST_POSTGRES_DSN, when set, enables the HA test (two clustered Alertmanagers,
# two bridges on one PostgreSQL). CI sets CI, so a missing binary fails instead of skipping.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

# The server stays on v0.31.1: v0.32+ embed a web UI build that is missing from the module
# zip, so go install fails. amtool ($ALERTMANAGER_VERSION, versions.sh) checks configs.
AM_SERVER_VERSION=v0.31.1
AM_SERVER=$CI_BIN/alertmanager-$AM_SERVER_VERSION

# install NAME PACKAGE VERSION DEST: go install PACKAGE@VERSION as DEST unless it exists.
install() {
	local name=$1 pkg=$2 version=$3 dest=$4 tmp
	if [[ -x $dest ]]; then
		echo "  $name $version: cached"
		return 0
	fi
	mkdir -p "$CI_BIN"
	tmp=$(mktemp -d "$CI_BIN/.install-XXXXXX")
	echo "  $name $version: installing $pkg@$version"
	GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOBIN=$tmp go install "$pkg@$version"
	mv "$tmp/$name" "$dest"
	rm -rf "$tmp"
}

step "e2e: Alertmanager $AM_SERVER_VERSION and amtool $ALERTMANAGER_VERSION"
install alertmanager github.com/prometheus/alertmanager/cmd/alertmanager "$AM_SERVER_VERSION" "$AM_SERVER"
install amtool github.com/prometheus/alertmanager/cmd/amtool "$ALERTMANAGER_VERSION" "$AMTOOL"

step "e2e: amtool check-config deploy/alertmanager/alertmanager.yml"
"$AMTOOL" check-config deploy/alertmanager/alertmanager.yml

step "e2e: go test -tags e2e -race ./e2e/...${COC_BRIDGE_TEST_POSTGRES_DSN:+ (with PostgreSQL: HA test runs)}"
export COC_BRIDGE_E2E_ALERTMANAGER=$AM_SERVER COC_BRIDGE_E2E_AMTOOL=$AMTOOL
go test -tags e2e -race -count=1 ./e2e/...
