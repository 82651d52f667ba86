#!/usr/bin/env bash
# Builds the Debian package of Voxprint as a system service: /usr/bin/voxprint, the systemd unit
# (packaging/debian/voxprint.service), the settings file /etc/default/voxprint (a conffile) and the
# maintainer scripts that create the `voxprint` user. The packaging is declared in
# crates/server/Cargo.toml ([package.metadata.deb]) and built by cargo-deb, a maintained cargo
# subcommand from crates.io, pinned here and installed into cargo's bin directory when missing.
#
# Usage:
#   scripts/package.sh           release build: the package for users
#   scripts/package.sh --debug   packs the existing debug build (run `cargo build` first), for the
#                                install test (scripts/test-package.sh): no release build in CI
#
# Prints the path of the .deb on stdout (target/debian/…, or target/debian/debug/… with --debug);
# everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0

log() { echo "package.sh: $*" >&2; }

profile=release
case "${1:-}" in
  "") ;;
  --debug) profile=debug ;;
  *) log "usage: scripts/package.sh [--debug]"; exit 2 ;;
esac

# cargo-deb at the pinned version, built once into cargo's bin directory when it is not there.
# A debug build without default features: half the compiling of the default (about 1.2 CPU-minutes
# instead of 2.5), and nothing lost for this package: it only drives `strip` and the system's `xz`
# (Debian's xz-utils; the default feature `lzma` would build liblzma in), and the `debug-id`
# feature only names separate debug-symbol files, which this package has none of.
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  log "installing cargo-deb $CARGO_DEB_VERSION (cargo install, once; about 3 minutes)"
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --debug --no-default-features --quiet >&2
fi

# cargo-deb prints the path of the package it wrote on stdout.
if [ "$profile" = release ]; then
  cargo deb --package voxprint --locked --output target/debian
else
  [ -x target/debug/voxprint ] || { log "no target/debug/voxprint: run cargo build first"; exit 1; }
  # cargo-deb warns that the dev profile is not meant for releases: this package is only
  # installed by the test. --fast: light compression (the debug binary is large even stripped).
  cargo deb --package voxprint --locked --profile dev --no-build --fast --output target/debian/debug
fi
