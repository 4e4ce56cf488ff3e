#!/bin/bash
# Runs every usbredir_vhci ABI test inside a VM guest (tests/vm/run-vm), in one boot:
#   run-in-guest.sh MODULE.ko VHCI_TEST_BINARY UDEV_RULE
# Prints PASS/FAIL lines (plus INFO timings) and exits non-zero if anything failed.
set -u
ko=$1 bin=$2 rule=$3
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
ms() { date +%s%3N; }

modprobe usbcore || fail module.usbcore "modprobe usbcore"
t=$(ms)
if insmod "$ko"; then pass module.insmod; else fail module.insmod "insmod $ko"; echo "SUMMARY failed"; exit 1; fi
echo "INFO module.insmod $(( $(ms) - t )) ms"
for i in $(seq 50); do [ -c /dev/vhci-ctrl ] && break; sleep 0.1; done
[ -c /dev/vhci-ctrl ] && pass module.devnode || fail module.devnode "/dev/vhci-ctrl missing"

# The udev rule: with a usbredir group, udev gives the node to it (0660). No udevd runs in the
# guest, so ask udevadm what it would do, then check an unprivileged member can really use it.
mkdir -p /etc/udev/rules.d && cp "$rule" /etc/udev/rules.d/
getent group usbredir >/dev/null || groupadd -r usbredir
# udevadm test runs the rules and applies the node's permissions, as udevd would on hotplug.
gid=$(getent group usbredir | cut -d: -f3)
udev_out=$(udevadm test /sys/class/misc/vhci-ctrl 2>&1)
if grep -q "60-usbredir-vhci.rules:.* GROUP $gid" <<<"$udev_out" &&
   [ "$(stat -c %G:%a /dev/vhci-ctrl)" = usbredir:660 ]; then
  pass module.udev-rule
else
  fail module.udev-rule "node is $(stat -c %G:%a /dev/vhci-ctrl); udevadm: $(grep -i 'vhci-ctrl:' <<<"$udev_out" | head -5 | tr '\n' '|')"
fi
if setpriv --reuid=nobody --regid=nogroup --groups="$(getent group usbredir | cut -d: -f3)" "$bin" multi >/tmp/unpriv.out 2>&1; then
  pass module.unprivileged-group-member
else
  fail module.unprivileged-group-member "$(tail -n 3 /tmp/unpriv.out | tr '\n' '|')"
fi
if setpriv --reuid=nobody --regid=nogroup --clear-groups "$bin" multi >/dev/null 2>&1; then
  fail module.non-member-refused "a user outside the group could create a controller"
else
  pass module.non-member-refused
fi

for s in abi enum kill multi bound; do
  t=$(ms)
  "$bin" "$s" || fails=$((fails + 1))
  echo "INFO scenario.$s $(( $(ms) - t )) ms"
done

# rmmod while a controller with an enumerated device is open: refused (the open file pins the
# module), the device keeps working; once its process dies the module unloads cleanly.
rm -f /tmp/vhci-ready
"$bin" serve /tmp/vhci-ready >/tmp/serve.out 2>&1 &
srv=$!
for i in $(seq 250); do
  [ -e /tmp/vhci-ready ] && break
  kill -0 "$srv" 2>/dev/null || break	# serve died: no point waiting
  sleep 0.1
done
if [ -e /tmp/vhci-ready ]; then
  if rmmod usbredir_vhci 2>/tmp/rmmod.err; then
    fail module.rmmod-refused-while-open "rmmod succeeded with a controller open"
  else
    pass module.rmmod-refused-while-open
  fi
  grep -lx 1209 /sys/bus/usb/devices/*-1/idVendor >/dev/null 2>&1 &&
    pass module.device-survives-rmmod-attempt || fail module.device-survives-rmmod-attempt "device gone"
else
  if kill -0 "$srv" 2>/dev/null; then why="still not configured after 25 s"
  else wait "$srv"; why="serve exited with status $?"; fi
  fail module.rmmod-refused-while-open "serve never enumerated ($why)"
  sed 's/^/  serve: /' /tmp/serve.out
fi
kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
for i in $(seq 50); do rmmod usbredir_vhci 2>/tmp/rmmod.err && break; sleep 0.1; done
if ! lsmod | grep -q '^usbredir_vhci '; then pass module.rmmod-after-close; else fail module.rmmod-after-close "$(cat /tmp/rmmod.err)"; fi
[ ! -e /dev/vhci-ctrl ] && pass module.devnode-removed || fail module.devnode-removed "/dev/vhci-ctrl still there"
# Loading again after a full cycle works (no leaked ids, names or sysfs entries).
if insmod "$ko" && "$bin" multi >/dev/null && rmmod usbredir_vhci; then pass module.reload; else fail module.reload "second load cycle failed"; fi

if [ "$fails" -eq 0 ]; then echo "SUMMARY all passed"; else echo "SUMMARY $fails failed"; fi
[ "$fails" -eq 0 ]
