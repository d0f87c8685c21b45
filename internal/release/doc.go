// Package release holds the checks of the release archives that GoReleaser
// builds from .goreleaser.yaml (`make release-snapshot` writes them to
// dist/). Its tests are built with -tags release and run by `make
// release-check`: each archive holds the binary, the shell completions and
// the README, the binary's --version carries the stamped version, commit and
// date, the checksums match, and the Homebrew and Scoop manifests exist.
package release
