# Sourced by the guest scenarios that report named checks: PASS/FAIL lines with the guest's uptime, counted in $fails.
fails=0
# check NAME COMMAND...: runs COMMAND and reports it under NAME
check() {
  local name=$1; shift
  if "$@"; then echo "PASS $name ($(cut -d' ' -f1 /proc/uptime) s)"; else echo "FAIL $name ($(cut -d' ' -f1 /proc/uptime) s)"; fails=$((fails + 1)); fi
}
# poll SECONDS COMMAND...: retries every 0.1 s
poll() { local left=$(( $1 * 10 )); shift; until "$@"; do left=$((left - 1)); [ "$left" -gt 0 ] || return 1; sleep 0.1; done; }
