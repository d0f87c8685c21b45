// Package release holds the checks of the release that GoReleaser builds from
// .goreleaser.yaml (`make release-snapshot` writes it to dist/). Its test is
// built with -tags release and run by `make release-check`, which passes the
// version, commit and date it stamped (VLLMCTL_VERSION, VLLMCTL_COMMIT,
// VLLMCTL_DATE). It checks that checksums.txt lists exactly the six archives
// (linux, darwin, windows × amd64, arm64) with their sha256; that each archive
// holds only the binary, README.md and the four shell completions; that each
// binary's ELF, PE or Mach-O header names its OS and architecture and that it
// holds the three stamps; that this machine's binary prints them exactly with
// --version and that every archive's completions are what it prints with
// `completion SHELL`; and that the Homebrew cask and the Scoop manifest name
// each archive's release URL with its sha256.
package release
