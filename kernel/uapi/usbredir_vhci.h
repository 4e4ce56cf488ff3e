/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * usbredir_vhci: a virtual USB host controller driven from user space.
 *
 * Each open file of /dev/vhci-ctrl may create one controller (its own
 * platform device "usbredir_vhci.N" and its own USB 2.0 bus with 1..31
 * root-hub ports). The controller lives exactly as long as the file:
 * closing it (or the process dying) unplugs every port, gives back every
 * URB with -ESHUTDOWN and removes the bus.
 *
 * Protocol, after USBREDIR_VHCI_IOC_CREATE:
 *
 *  read()  returns one or more whole events (struct usbredir_vhci_event_*),
 *          each starting with struct usbredir_vhci_hdr and padded to a
 *          multiple of 8 bytes (hdr.length is the padded size). It blocks
 *          until an event is queued unless O_NONBLOCK (-EAGAIN). If the
 *          buffer cannot hold the first queued event it fails with
 *          -EMSGSIZE and the event stays queued; a buffer of
 *          USBREDIR_VHCI_READ_MIN(max_transfer, max_iso_packets) bytes
 *          (values from CREATE) always suffices.
 *  write() takes exactly one command (struct usbredir_vhci_cmd_*) per call;
 *          the byte count must equal hdr.length. A malformed command fails
 *          with -EINVAL and changes nothing. Writes never block.
 *  poll()  reports POLLIN while an event is queued; POLLOUT always.
 *
 * Before CREATE the file has no controller: read() and write() fail with
 * -EBADFD and poll() reports only POLLOUT; the ABI_VERSION ioctl works.
 *
 * Every multi-byte field is little-endian, every struct has a fixed size
 * with explicit padding, and every reserved field must be zero on input
 * (it is zero on output). Unknown event types must be skipped by
 * hdr.length; new ones may be added without changing the ABI version.
 *
 * URB life cycle, as seen from user space:
 *  - SUBMIT(id) arrives. ids are per-controller counters starting at 1;
 *    they are never kernel addresses and are never reused.
 *  - Answer it with exactly one COMPLETE(id).
 *  - Or, if the URB is cancelled first, UNLINK(id) arrives: the kernel has
 *    already given the URB back (with status = the unlink status) and will
 *    ignore a COMPLETE for that id, so user space just drops its copy.
 *    A COMPLETE for an id that was unlinked (or for any id the kernel has
 *    already finished) returns success and is ignored.
 *  - A COMPLETE for an id the kernel never issued (0, or beyond the last
 *    SUBMIT) fails with -EINVAL, as does a command of an unknown type.
 *
 * Root-hub ports are emulated in the kernel (power, reset with its 50 ms
 * completion, suspend/resume, enable). User space only plugs a device in
 * (CONNECT with a speed) or out (DISCONNECT) and is told about what the
 * hub driver did to the port (PORT events), e.g. to reset the emulated
 * device's address after a port reset. SET_ADDRESS and every other
 * request reach user space as ordinary control URBs.
 */
#ifndef _UAPI_LINUX_USBREDIR_VHCI_H
#define _UAPI_LINUX_USBREDIR_VHCI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Bumped on any incompatible change of the structs or semantics below. */
#define USBREDIR_VHCI_ABI_VERSION	1

#define USBREDIR_VHCI_MAX_PORTS		31

/* Speeds (the values of enum usb_device_speed). */
#define USBREDIR_VHCI_SPEED_LOW		1
#define USBREDIR_VHCI_SPEED_FULL	2
#define USBREDIR_VHCI_SPEED_HIGH	3

/* Transfer types (the values of the kernel's PIPE_* constants). */
#define USBREDIR_VHCI_XFER_ISO		0
#define USBREDIR_VHCI_XFER_INT		1
#define USBREDIR_VHCI_XFER_CONTROL	2
#define USBREDIR_VHCI_XFER_BULK		3

/* URB transfer flags passed through in usbredir_vhci_event_submit.flags. */
#define USBREDIR_VHCI_URB_SHORT_NOT_OK	0x0001
#define USBREDIR_VHCI_URB_ISO_ASAP	0x0002
#define USBREDIR_VHCI_URB_ZERO_PACKET	0x0040

/* ---------------------------------------------------------------------- */
/* ioctls */

struct usbredir_vhci_create {
	__le32 abi_version;	/* in: USBREDIR_VHCI_ABI_VERSION */
	__le32 ports;		/* in: 1..USBREDIR_VHCI_MAX_PORTS */
	__le32 flags;		/* in: 0 (none defined yet) */
	__le32 busnum;		/* out: USB bus number of the new root hub */
	__le32 max_transfer;	/* out: largest URB transfer length accepted */
	__le32 max_iso_packets;	/* out: largest ISO packet count accepted */
	__le32 max_inflight;	/* out: URBs (queued + submitted + unlink
				 * notices not yet read) per controller;
				 * beyond it usb_submit_urb fails -ENOSPC */
	__le32 reserved0;
	char bus_id[32];	/* out: NUL-terminated platform device name,
				 * e.g. "usbredir_vhci.0" */
	__le32 reserved[8];	/* in: zero */
};				/* 96 bytes */

#define USBREDIR_VHCI_IOC_MAGIC		0xB8
/* Creates this file's controller; once per file (-EBUSY after that).
 * -EPROTONOSUPPORT if abi_version differs, -EINVAL for bad ports/flags. */
#define USBREDIR_VHCI_IOC_CREATE \
	_IOWR(USBREDIR_VHCI_IOC_MAGIC, 0x00, struct usbredir_vhci_create)
/* Returns USBREDIR_VHCI_ABI_VERSION (as the ioctl's return value). Works
 * before CREATE, so user space can check the module it talks to. */
#define USBREDIR_VHCI_IOC_ABI_VERSION	_IO(USBREDIR_VHCI_IOC_MAGIC, 0x01)

/* ---------------------------------------------------------------------- */
/* Record header shared by events (read) and commands (write). */

struct usbredir_vhci_hdr {
	__le16 type;		/* USBREDIR_VHCI_EV_* or USBREDIR_VHCI_CMD_* */
	__le16 port;		/* 1-based root-hub port, 0 if none */
	__le32 length;		/* whole record in bytes (events: padded to 8) */
	__le64 id;		/* URB id, 0 if none */
};				/* 16 bytes */

/* Events (kernel -> user space, read()) */
#define USBREDIR_VHCI_EV_SUBMIT		0x0001
#define USBREDIR_VHCI_EV_UNLINK		0x0002
#define USBREDIR_VHCI_EV_PORT		0x0003

/*
 * A URB to process. Followed by iso_packets struct usbredir_vhci_iso_packet
 * (ISO only), then data_length bytes of OUT data (the whole transfer for OUT
 * URBs, nothing for IN URBs), then zero padding to hdr.length.
 * hdr.port is the root-hub port the target device hangs off (devices behind
 * an emulated hub share their hub's port; tell them apart by address).
 */
struct usbredir_vhci_event_submit {
	struct usbredir_vhci_hdr hdr;
	__u8 address;		/* USB device address (0 while unaddressed) */
	__u8 endpoint;		/* endpoint number | 0x80 for IN */
	__u8 xfer_type;		/* USBREDIR_VHCI_XFER_* */
	__u8 reserved0;
	__le32 flags;		/* USBREDIR_VHCI_URB_* */
	__u8 setup[8];		/* control only: the setup packet as on the wire */
	__le32 transfer_length;	/* buffer size (control: wLength) */
	__le32 interval;	/* int/iso: urb->interval in (micro)frames */
	__le32 iso_packets;	/* ISO: number of packets, else 0 */
	__le32 start_frame;	/* ISO without ISO_ASAP: urb->start_frame */
	__le32 data_length;	/* OUT data bytes that follow */
	__le32 reserved[3];
};				/* 64 bytes */

struct usbredir_vhci_iso_packet {
	__le32 offset;		/* into the transfer buffer */
	__le32 length;		/* expected bytes */
};

/* The kernel already gave URB hdr.id back (it was cancelled); drop it. */
struct usbredir_vhci_event_unlink {
	struct usbredir_vhci_hdr hdr;
	__le32 status;		/* the status it was given back with (s32,
				 * e.g. -ECONNRESET, -ENOENT, -ESHUTDOWN) */
	__le32 reserved;
};				/* 24 bytes */

/* What the hub driver did to port hdr.port. */
#define USBREDIR_VHCI_PORT_POWER_ON	1
#define USBREDIR_VHCI_PORT_POWER_OFF	2
#define USBREDIR_VHCI_PORT_RESET	3	/* reset started; the device
						 * is back at address 0 */
#define USBREDIR_VHCI_PORT_SUSPEND	4
#define USBREDIR_VHCI_PORT_RESUME	5
#define USBREDIR_VHCI_PORT_DISABLE	6

struct usbredir_vhci_event_port {
	struct usbredir_vhci_hdr hdr;
	__le16 event;		/* USBREDIR_VHCI_PORT_* */
	__le16 reserved;
	__le16 status;		/* wPortStatus after the event */
	__le16 change;		/* wPortChange after the event */
};				/* 24 bytes */

/* Commands (user space -> kernel, write()) */
#define USBREDIR_VHCI_CMD_COMPLETE	0x0101
#define USBREDIR_VHCI_CMD_CONNECT	0x0102
#define USBREDIR_VHCI_CMD_DISCONNECT	0x0103

/*
 * Finish URB hdr.id. Followed by iso_packets struct
 * usbredir_vhci_iso_result (must equal the submitted count for ISO, 0
 * otherwise), then data_length bytes of IN data copied to the start of the
 * transfer buffer (IN only; for non-ISO it must equal actual_length, for
 * ISO it is the buffer image up to the end of the last packet's data).
 * hdr.length must equal sizeof(this) + 8 * iso_packets + data_length.
 * hdr.port is ignored and must be 0.
 * status: 0 or one of -EPIPE (stall), -EPROTO, -EILSEQ, -ETIME,
 * -ETIMEDOUT, -EOVERFLOW, -EREMOTEIO (short with SHORT_NOT_OK), -ECOMM,
 * -ENOSR, -EXDEV, -ENODEV, -ESHUTDOWN, -EINVAL.
 */
struct usbredir_vhci_cmd_complete {
	struct usbredir_vhci_hdr hdr;
	__le32 status;		/* s32 */
	__le32 actual_length;	/* <= transfer_length */
	__le32 iso_packets;
	__le32 error_count;	/* ISO: packets with errors */
	__le32 start_frame;	/* ISO: frame of the first packet */
	__le32 data_length;
	__le32 reserved[2];
};				/* 48 bytes */

struct usbredir_vhci_iso_result {
	__le32 actual_length;	/* <= the packet's length */
	__le32 status;		/* s32, same set as above */
};

/*
 * Plug a device into port hdr.port at a speed. The port shows the
 * connection as soon as the hub has powered it. -EBUSY if the port
 * already has a device.
 */
struct usbredir_vhci_cmd_connect {
	struct usbredir_vhci_hdr hdr;
	__le32 speed;		/* USBREDIR_VHCI_SPEED_* */
	__le32 reserved;
};				/* 24 bytes */

/* Unplug port hdr.port. -ENOTCONN if nothing is plugged in. */
struct usbredir_vhci_cmd_disconnect {
	struct usbredir_vhci_hdr hdr;
	__le32 reserved[2];
};				/* 24 bytes */

/* A read() buffer of this many bytes can hold any single event. The
 * sizes noted beside the structs are ABI; the module checks them at build
 * time. */
#define USBREDIR_VHCI_READ_MIN(max_transfer, max_iso_packets) \
	(sizeof(struct usbredir_vhci_event_submit) + \
	 8 * (max_iso_packets) + (((max_transfer) + 7) & ~7u))

#endif /* _UAPI_LINUX_USBREDIR_VHCI_H */
