#!/bin/sh
# lint-tracked: fail when git tracks a build output or a large file.
#   - a binary: an executable (ELF, PE, Mach-O) or any file git sees as
#     non-text (git ls-files --eol: i/-text);
#   - a file over MAX_BYTES (default 1 MiB).
# It reads the index (what a commit would hold), not the working tree.
# Build outputs belong in bin/ (ignored): see .gitignore.
set -eu
cd "$(git rev-parse --show-toplevel)"
max=${MAX_BYTES:-1048576}
fail=0

kind() { # kind BLOB: what the first bytes of a blob say it is
	magic=$(git cat-file blob "$1" | head -c 4 | od -An -tx1 | tr -d ' \n')
	case $magic in
	7f454c46) echo "ELF executable" ;;
	4d5a*) echo "PE (Windows) executable" ;;
	feedface | feedfacf | cefaedfe | cffaedfe | cafebabe) echo "Mach-O executable" ;;
	*) echo "binary (non-text)" ;;
	esac
}

# Binaries: git's own text/binary verdict on the index content.
bins=$(git ls-files --eol | awk -F '\t' '$1 ~ /^i\/-text/ { print $2 }')
if [ -n "$bins" ]; then
	echo "$bins" | while IFS= read -r path; do
		blob=$(git ls-files -s -- "$path" | awk '{ print $2 }')
		echo "$path: tracked $(kind "$blob"): git rm --cached '$path' (build outputs go to bin/, ignored)"
	done
	fail=1
fi

# Sizes of the index blobs.
big=$(git ls-files -s | awk -F '\t' '{ split($1, a, " "); print a[2] " " $2 }' |
	git cat-file --batch-check='%(objectsize) %(rest)' |
	awk -v max="$max" '$1 > max { sz = $1; $1 = ""; sub(/^ /, ""); printf "%s: tracked file of %d bytes (over %d): remove it from git or keep it outside the repository\n", $0, sz, max }')
if [ -n "$big" ]; then
	echo "$big"
	fail=1
fi

if [ "$fail" -ne 0 ]; then
	echo "lint: tracked binaries or large files (above); see scripts/lint-tracked.sh" >&2
	exit 1
fi
