// Prints the layout of the /dev/vhci-ctrl ABI as the C compiler sees kernel/uapi/usbredir_vhci.h: ioctl codes,
// struct sizes and field offsets, one "NAME VALUE" line each. VhciCtrlAbiTests compares the C# constants to it.
#include <stddef.h>
#include <stdio.h>
#include "../../kernel/uapi/usbredir_vhci.h"

#define SIZE(s) printf("sizeof.%s %zu\n", #s, sizeof(struct s))
#define OFF(s, f) printf("offsetof.%s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define VAL(v) printf("%s %lu\n", #v, (unsigned long)(v))

int main(void)
{
	VAL(USBREDIR_VHCI_ABI_VERSION);
	VAL(USBREDIR_VHCI_MAX_PORTS);
	VAL(USBREDIR_VHCI_IOC_CREATE);
	VAL(USBREDIR_VHCI_IOC_ABI_VERSION);
	VAL(USBREDIR_VHCI_EV_SUBMIT);
	VAL(USBREDIR_VHCI_EV_UNLINK);
	VAL(USBREDIR_VHCI_EV_PORT);
	VAL(USBREDIR_VHCI_CMD_COMPLETE);
	VAL(USBREDIR_VHCI_CMD_CONNECT);
	VAL(USBREDIR_VHCI_CMD_DISCONNECT);
	VAL(USBREDIR_VHCI_PORT_RESET);
	VAL(USBREDIR_VHCI_SPEED_LOW);
	VAL(USBREDIR_VHCI_SPEED_FULL);
	VAL(USBREDIR_VHCI_SPEED_HIGH);
	VAL(USBREDIR_VHCI_URB_SHORT_NOT_OK);
	VAL(USBREDIR_VHCI_URB_ISO_ASAP);
	VAL(USBREDIR_VHCI_URB_ZERO_PACKET);
	VAL(USBREDIR_VHCI_READ_MIN(4 << 20, 1024));

	SIZE(usbredir_vhci_create);
	OFF(usbredir_vhci_create, abi_version);
	OFF(usbredir_vhci_create, ports);
	OFF(usbredir_vhci_create, flags);
	OFF(usbredir_vhci_create, busnum);
	OFF(usbredir_vhci_create, max_transfer);
	OFF(usbredir_vhci_create, max_iso_packets);
	OFF(usbredir_vhci_create, max_inflight);
	OFF(usbredir_vhci_create, bus_id);

	SIZE(usbredir_vhci_hdr);
	OFF(usbredir_vhci_hdr, type);
	OFF(usbredir_vhci_hdr, port);
	OFF(usbredir_vhci_hdr, length);
	OFF(usbredir_vhci_hdr, id);

	SIZE(usbredir_vhci_event_submit);
	OFF(usbredir_vhci_event_submit, address);
	OFF(usbredir_vhci_event_submit, endpoint);
	OFF(usbredir_vhci_event_submit, xfer_type);
	OFF(usbredir_vhci_event_submit, flags);
	OFF(usbredir_vhci_event_submit, setup);
	OFF(usbredir_vhci_event_submit, transfer_length);
	OFF(usbredir_vhci_event_submit, interval);
	OFF(usbredir_vhci_event_submit, iso_packets);
	OFF(usbredir_vhci_event_submit, start_frame);
	OFF(usbredir_vhci_event_submit, data_length);
	SIZE(usbredir_vhci_iso_packet);

	SIZE(usbredir_vhci_event_unlink);
	OFF(usbredir_vhci_event_unlink, status);
	SIZE(usbredir_vhci_event_port);
	OFF(usbredir_vhci_event_port, event);
	OFF(usbredir_vhci_event_port, status);
	OFF(usbredir_vhci_event_port, change);

	SIZE(usbredir_vhci_cmd_complete);
	OFF(usbredir_vhci_cmd_complete, status);
	OFF(usbredir_vhci_cmd_complete, actual_length);
	OFF(usbredir_vhci_cmd_complete, iso_packets);
	OFF(usbredir_vhci_cmd_complete, error_count);
	OFF(usbredir_vhci_cmd_complete, start_frame);
	OFF(usbredir_vhci_cmd_complete, data_length);
	SIZE(usbredir_vhci_iso_result);
	SIZE(usbredir_vhci_cmd_connect);
	OFF(usbredir_vhci_cmd_connect, speed);
	SIZE(usbredir_vhci_cmd_disconnect);
	return 0;
}
