# Sourced by the examples' smoke tests (tests/examples/*_smoke.sh) after `bin="$1"`: a temporary
# folder $tmp removed on exit, fail, is_png, and the check of refused flags they all make.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

# expect_bad_flags "--flag value" ...: each must make $bin exit non-zero at parse time with a
# message naming the flag, before it creates its output folder. '' stands for an empty value.
expect_bad_flags() {
  local bad flag value
  for bad in "$@"; do
    flag="${bad%% *}"
    value="${bad#* }"
    [ "$value" = "''" ] && value=""
    if "$bin" "$flag" "$value" $([ "$flag" = --out ] || echo --out "$tmp/bad") >/dev/null 2>"$tmp/err"; then
      fail "'$bad' was accepted"
    fi
    grep -q -- "$flag" "$tmp/err" || fail "'$bad': the message does not name $flag: $(cat "$tmp/err")"
    [ ! -e "$tmp/bad" ] || fail "'$bad' created the output folder"
  done
}
