# Sourced by the guest scenarios that report named checks: PASS/FAIL lines with the guest's uptime, counted in $fails.
fails=0
# check NAME COMMAND...: runs COMMAND and reports it under NAME
check() {
  local name=$1; shift
  if "$@"; then echo "PASS $name ($(cut -d' ' -f1 /proc/uptime) s)"; else echo "FAIL $name ($(cut -d' ' -f1 /proc/uptime) s)"; fails=$((fails + 1)); fi
}
# poll SECONDS COMMAND...: retries every 0.1 s for SECONDS of guest uptime (a deadline, not a count of tries: under TCG a
# command that forks a few processes takes longer than the pause, and 1200 tries of "poll 120" ran for many minutes)
poll() { local now end; read -r now _ < /proc/uptime; end=$(( ${now%.*} + $1 + 1 )); shift
  until "$@"; do read -r now _ < /proc/uptime; [ "${now%.*}" -lt "$end" ] || return 1; sleep 0.1; done; }
