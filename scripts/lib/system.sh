# Checks and installs what scripts/system-packages.txt lists. Sourced by scripts/setup
# and scripts/test; defines functions only.

SYSTEM_PACKAGES="$(dirname "${BASH_SOURCE[0]}")/../system-packages.txt"

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
