# Sourced by the guest scenarios: named checks (PASS/FAIL lines with the guest's uptime, counted in $fails), bounded waits and
# the process helpers they share.
fails=0
# check NAME COMMAND...: runs COMMAND and reports it under NAME
check() {
  local name=$1; shift
  if "$@"; then echo "PASS $name ($(cut -d' ' -f1 /proc/uptime) s)"; else echo "FAIL $name ($(cut -d' ' -f1 /proc/uptime) s)"; fails=$((fails + 1)); fi
}
# poll SECONDS COMMAND...: retries every 0.1 s for SECONDS of guest uptime (a deadline, not a count of tries: under TCG a
# command that forks a few processes takes longer than the pause, and 1200 tries of "poll 120" ran for many minutes)
# (what COMMAND prints is dropped: it is asked again and again)
poll() { local now end; read -r now _ < /proc/uptime; end=$(( ${now%.*} + $1 + 1 )); shift
  until "$@" >/dev/null; do read -r now _ < /proc/uptime; [ "${now%.*}" -lt "$end" ] || return 1; sleep 0.1; done; }
# quiet COMMAND...: its status, without its output; gone COMMAND...: COMMAND fails (e.g. poll 60 gone kill -0 $pid)
quiet() { "$@" >/dev/null; }
gone() { ! "$@" >/dev/null; }
# listening PORT: something listens on 127.0.0.1:PORT
listening() { grep -q "^ *[0-9]*: 0100007F:$(printf %04X "$1") 00000000:0000 0A " /proc/net/tcp; }
# stop PID: SIGTERM, as Ctrl+C; a process still there 30 s later is killed (and reported), so nothing waits forever; one
# that SIGKILL does not end within 10 s either (stuck in the kernel) is reported and left behind, status 124.
stop() { kill -TERM "$1" 2>/dev/null; for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && { echo "INFO process $1 ignored SIGTERM for 30 s: killed"; kill -KILL "$1"
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && { echo "INFO process $1 survived SIGKILL for 10 s (in the kernel at $(cat "/proc/$1/wchan" 2>/dev/null))"; return 124; }; }
  wait "$1"; }
