# Checks and installs what scripts/system-packages.txt lists. Sourced by scripts/setup
# and scripts/test; defines functions only.

SYSTEM_PACKAGES=${TRICKLE_SYSTEM_PACKAGES:-"$(dirname "${BASH_SOURCE[0]}")/../system-packages.txt"}

# system_rows GROUP: the list's rows of one group, as "check package marker".
system_rows() {
  awk -v group="$1" '$1 == group { print $2, $3, $4 }' "$SYSTEM_PACKAGES"
}

# system_present CHECK: is this command (or python:MODULE) there?
system_present() {
  case "$1" in
    python:*) "${PYTHON:-python3}" -c "import ${1#python:}" >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# system_missing GROUP: "package marker" for each missing row (a package once).
system_missing() {
  local check package marker
  system_rows "$1" | while read -r check package marker; do
    system_present "$check" || echo "$package $marker"
  done | awk '!seen[$1]++'
}

# system_can_install: true when we are root on a machine with apt-get.
system_can_install() {
  [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1
}

# system_install PACKAGE...: apt-get them, quietly, without recommends.
system_install() {
  echo "Installing Debian packages: $* ..." >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# system_ensure_test_services WITHOUT: make sure the test services are there, except
# those whose pytest markers are in the comma-separated WITHOUT. Installs them when it
# can; otherwise prints what to install (or how to leave their tests out) and fails.
system_ensure_test_services() {
  local without=$1 missing packages markers
  missing=$(system_missing test | awk -v skip=",$without," 'index(skip, "," $2 ",") == 0')
  [ -z "$missing" ] && return 0
  packages=$(echo "$missing" | cut -d' ' -f1 | xargs)
  if system_can_install; then
    # shellcheck disable=SC2086
    system_install $packages
    return
  fi
  markers=$(echo "$missing" | cut -d' ' -f2 | awk '!seen[$0]++' | paste -sd, -)
  {
    echo "The test suite needs these Debian packages, which are not installed: $packages"
    echo "Install them:"
    echo "  sudo apt-get install -y --no-install-recommends $packages"
    echo "or run the rest of the suite without the tests that need them:"
    echo "  ./scripts/test --without ${without:+$without,}$markers"
  } >&2
  return 1
}
