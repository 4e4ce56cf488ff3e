#!/bin/bash
# Guest side of tests/UsbRedir.Tests/Vm/PwshVmTests.cs, one boot: loads usbredir_vhci.ko and runs the Pester tests
# tagged Kernel (they need root, /dev/vhci-ctrl and a real USB disk) in the repository's pwsh 7.6 against the
# published module. The guest has qemu's usb-storage on EHCI over DISK_IMAGE; a test asks the host to remove it and add it
# again (QMP) by creating a file in SHARED_DIR (USBREDIR_TEST_SHARED).
#   pwsh-pester.sh MODULE.ko PWSH MODULE_FOLDER SHARED_DIR DISK_IMAGE
# Writes SHARED_DIR/pester-vm.xml (JUnit) and exits with Pester's status.
set -u
ko=$1 pwsh=$2 module=$3 shared=$4 image=$5
here=$(cd "$(dirname "$0")" && pwd)
ms() { date +%s%3N; }
insmod "$ko" || { echo "insmod $ko failed" >&2; exit 1; }
for _ in $(seq 50); do [ -c /dev/vhci-ctrl ] && break; sleep 0.1; done
[ -c /dev/vhci-ctrl ] || { echo "/dev/vhci-ctrl did not appear" >&2; exit 1; }
t=$(ms)
pester=$(cd "$here/../../Pester" && pwd)
USBREDIR_TEST_DISK_IMAGE=$image USBREDIR_TEST_SHARED=$shared "$pwsh" -NoProfile -NonInteractive -Command "& '$pester/Invoke-UsbRedirPester.ps1' \
  -ModulePath '$module' -OutputPath '$shared/pester-vm.xml' -Tag Kernel \
  -Path '$pester/Readme.Tests.ps1', '$pester/Controllers.Tests.ps1', '$pester/UsedBy.Tests.ps1', '$pester/Tls.Tests.ps1'; exit \$LASTEXITCODE"
rc=$?
echo "INFO pester.run $(( $(ms) - t )) ms, exit $rc"
exit $rc
