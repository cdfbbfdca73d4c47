#!/usr/bin/env bash
# Rebuilds third_party/ferretdb from upstream FerretDB and the patches in patches/.
#
#   ./update.sh              rebuild the tree in place
#   ./update.sh --check      rebuild into a temporary directory and fail if the tree differs
#   ./update.sh --workdir D  make D a git repository: upstream as one commit, then one
#                            commit per patch (to edit, reorder or add patches)
#   ./update.sh --export D   rewrite patches/ from the commits of D after the first
#
# The tree is upstream's module (github.com/FerretDB/FerretDB at $VERSION, fetched
# through the Go module proxy into the module cache, checked against $SUM) without the
# paths in EXCLUDE, then every patches/NNNN-*.patch applied in order with git apply.
# Only PATCHES.md, update.sh and patches/ are goodwill's own; everything else is
# generated, so edit a patch (see PATCHES.md, "Updating"), never the tree.
set -euo pipefail

VERSION=v1.24.0
SUM=h1:7WJmezL48Bj9bYWnhT/bEJgX5gjT5s7LFdHTqkN25rA=

# Upstream paths left out of the tree: FerretDB's programs (cmd/, whose tools import
# the PostgreSQL driver), packaging and CI/tool configuration (its .gitignore would
# also hide generated files of the tree from goodwill's git). Of build/, only
# build/version (a package) and build/certs (test certificates) are kept.
EXCLUDE=(
	.dockerignore .gitattributes .github .gitignore .golangci.yml .golangci-new.yml .prettierignore
	Taskfile.yml docker-compose.yml docker-compose.override.yml.example
	cmd
)
BUILD_KEEP=(version certs)

# goodwill's own files in the tree, not generated.
OWN=(PATCHES.md update.sh patches)

here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "update.sh: $*" >&2
	exit 1
}

# upstream prints the directory of the upstream module in the module cache.
upstream() {
	local tmp json dir sum
	tmp=$(mktemp -d)
	# outside goodwill's module (whose replace directive points here), module mode on
	json=$(cd "$tmp" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$VERSION")
	rm -rf "$tmp"
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		die "go mod download gave no directory: $json"
	fi
	[ "$sum" = "$SUM" ] || die "upstream $VERSION has sum $sum, want $SUM"
	echo "$dir"
}

# pristine copies upstream, without EXCLUDE, into the empty directory $1.
pristine() {
	local out=$1 src f
	src=$(upstream)
	cp -R "$src/." "$out/"
	chmod -R u+w "$out"
	for f in "${EXCLUDE[@]}"; do
		rm -rf "${out:?}/$f"
	done
	for f in "$out"/build/* "$out"/build/.[!.]*; do
		[ -e "$f" ] || continue
		case " ${BUILD_KEEP[*]} " in
		*" $(basename "$f") "*) ;;
		*) rm -rf "$f" ;;
		esac
	done
}

# patches lists the patch files in the order they apply.
patches() {
	find "$here/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' | LC_ALL=C sort
}

# build writes upstream plus the patches into the empty directory $1 (outside any git
# work tree, so that git apply treats it as a plain directory).
build() {
	local out=$1 p
	mkdir -p "$out"
	pristine "$out"
	while read -r p; do
		(cd "$out" && GIT_CEILING_DIRECTORIES=$(dirname "$out") git apply --whitespace=nowarn "$p") ||
			die "$(basename "$p") does not apply"
	done < <(patches)
	for p in "${OWN[@]}"; do
		[ ! -e "$out/$p" ] || die "upstream has $p, which the tree keeps for goodwill's own use"
	done
}

# same fails, listing the differences, unless the tree equals directory $1 apart from OWN.
same() {
	local args=(-r) p
	for p in "${OWN[@]}"; do
		args+=(-x "$p")
	done
	diff "${args[@]}" "$1" "$here" || die "the tree differs from upstream $VERSION plus patches/ (run third_party/ferretdb/update.sh)"
}

case "${1:-}" in
"")
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	build "$tmp/tree"
	keep=()
	for p in "${OWN[@]}"; do
		keep+=(-not -name "$p")
	done
	find "$here" -mindepth 1 -maxdepth 1 "${keep[@]}" -exec rm -rf {} +
	cp -R "$tmp/tree/." "$here/"
	same "$tmp/tree"
	echo "third_party/ferretdb: upstream $VERSION plus $(patches | wc -l) patches"
	;;
--check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	build "$tmp/tree"
	same "$tmp/tree"
	echo "third_party/ferretdb: equals upstream $VERSION plus $(patches | wc -l) patches"
	;;
--workdir)
	dir=${2:?--workdir needs a directory}
	[ ! -e "$dir" ] || die "$dir exists"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	pristine "$dir"
	git -C "$dir" init -q
	git -C "$dir" add -A
	git -C "$dir" commit -qm "FerretDB $VERSION (update.sh's pristine tree)"
	while read -r p; do
		git -C "$dir" apply --index --whitespace=nowarn "$p" || die "$(basename "$p") does not apply"
		# the commit message is the patch's header, and names the patch file
		{ sed '/^diff --git /,$d' "$p" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; printf '\nPatch: %s\n' "$(basename "$p")"; } |
			git -C "$dir" commit -q -F -
	done < <(patches)
	echo "$dir: upstream $VERSION, then one commit per patch"
	;;
--export)
	dir=${2:?--export needs a directory}
	base=$(git -C "$dir" rev-list --max-parents=0 HEAD)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	n=0
	for c in $(git -C "$dir" rev-list --reverse "$base..HEAD"); do
		n=$((n + 1))
		name=$(git -C "$dir" log -1 --format=%B "$c" | sed -n 's/^Patch: \(.*\)$/\1/p' | tail -1)
		if [ -z "$name" ]; then
			slug=$(git -C "$dir" log -1 --format=%s "$c" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//' | cut -c1-50)
			name=$(printf '%04d-%s.patch' "$n" "$slug")
		fi
		# renumber, keeping the name
		name=$(printf '%04d-%s' "$n" "${name#[0-9][0-9][0-9][0-9]-}")
		{
			git -C "$dir" log -1 --format=%B "$c" | sed '/^Patch: /d' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
			echo
			git -C "$dir" diff --no-renames "$c^" "$c"
		} >"$tmp/$name"
	done
	rm -f "$here"/patches/[0-9][0-9][0-9][0-9]-*.patch
	mkdir -p "$here/patches"
	cp "$tmp"/*.patch "$here/patches/"
	echo "patches/: $n patches from $dir"
	;;
*)
	die "unknown argument $1 (see the top of update.sh)"
	;;
esac
