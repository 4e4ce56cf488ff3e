// SPDX-License-Identifier: GPL-2.0
/*
 * Exercises /dev/vhci-ctrl (usbredir_vhci.ko) for real, inside a VM:
 *
 *   vhci_test abi        ioctls, malformed writes (-EINVAL, nothing changes), poll, EMSGSIZE
 *   vhci_test enum       a user-space device enumerates (VID:PID in sysfs), bulk data both ways
 *                        through usbfs, an unlink completes without a user-space answer
 *   vhci_test kill       the device process is SIGKILLed mid-transfer: the transfer fails, the
 *                        controller and its bus disappear
 *   vhci_test multi      several controllers at once, 31 ports each, all gone after close
 *   vhci_test bound      usbfs fills the controller to max_inflight unanswered URBs: the next
 *                        submit fails -ENOSPC, inflight never passes the limit, and answering
 *                        plus unlinking brings it back to 0
 *   vhci_test serve FILE enumerates a device, touches FILE, serves until killed (rmmod test)
 *
 * Prints "PASS <name>" or "FAIL <name>: <why>" lines and exits non-zero on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <linux/usbdevice_fs.h>
#include <linux/usb/ch9.h>

#include "../uapi/usbredir_vhci.h"

#define VID 0x1209
#define PID 0x0001
#define EP_BULK_OUT 0x01
#define EP_BULK_IN 0x81
#define EP_HOLD_IN 0x82		/* never answered: for unlink and kill tests */
#define BULK_LEN (64 * 1024)

static int failures;

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
	} else {
		failures++;
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

#define CHECK(cond, name, ...) result(!!(cond), name, __VA_ARGS__)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_sysfs(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ------------------------------------------------------------------ controller */

struct ctrl {
	int fd;
	struct usbredir_vhci_create info;
	int busnum;
};

static int ctrl_open(struct ctrl *c, int ports)
{
	memset(c, 0, sizeof(*c));
	c->fd = open("/dev/vhci-ctrl", O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	c->info.abi_version = htole32(USBREDIR_VHCI_ABI_VERSION);
	c->info.ports = htole32(ports);
	if (ioctl(c->fd, USBREDIR_VHCI_IOC_CREATE, &c->info) < 0) {
		int e = -errno;

		close(c->fd);
		return e;
	}
	c->busnum = le32toh(c->info.busnum);
	return 0;
}

static int port_cmd(struct ctrl *c, uint16_t type, int port, uint32_t speed)
{
	struct usbredir_vhci_cmd_connect cmd = {
		.hdr.type = htole16(type),
		.hdr.port = htole16(port),
		.hdr.length = htole32(sizeof(cmd)),
		.speed = htole32(speed),
	};

	return write(c->fd, &cmd, sizeof(cmd)) == sizeof(cmd) ? 0 : -errno;
}

/* Writes one COMPLETE; returns 0 or -errno. */
static int complete(struct ctrl *c, uint64_t id, int32_t status, uint32_t actual,
		    const void *data, uint32_t data_len)
{
	size_t len = sizeof(struct usbredir_vhci_cmd_complete) + data_len;
	struct usbredir_vhci_cmd_complete *cmd = calloc(1, len);
	ssize_t n;

	cmd->hdr.type = htole16(USBREDIR_VHCI_CMD_COMPLETE);
	cmd->hdr.length = htole32(len);
	cmd->hdr.id = htole64(id);
	cmd->status = htole32(status);
	cmd->actual_length = htole32(actual);
	cmd->data_length = htole32(data_len);
	if (data_len)
		memcpy(cmd + 1, data, data_len);
	n = write(c->fd, cmd, len);
	free(cmd);
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/* ------------------------------------------------------------------ emulated device */

static const uint8_t dev_desc[18] = {
	18, USB_DT_DEVICE, 0x00, 0x02, 0, 0, 0, 64,
	VID & 0xff, VID >> 8, PID & 0xff, PID >> 8, 0x00, 0x01, 1, 2, 3, 1,
};

static const uint8_t cfg_desc[9 + 9 + 7 * 3] = {
	9, USB_DT_CONFIG, sizeof(cfg_desc), 0, 1, 1, 0, 0x80, 50,
	9, USB_DT_INTERFACE, 0, 0, 3, 0xff, 0, 0, 0,
	7, USB_DT_ENDPOINT, EP_BULK_OUT, USB_ENDPOINT_XFER_BULK, 0x00, 0x02, 0,
	7, USB_DT_ENDPOINT, EP_BULK_IN, USB_ENDPOINT_XFER_BULK, 0x00, 0x02, 0,
	7, USB_DT_ENDPOINT, EP_HOLD_IN, USB_ENDPOINT_XFER_INT, 64, 0, 4,
};

static const char *const strings[] = { NULL, "UsbRedir", "VHCI Test Device", "T0001" };

struct device {
	struct ctrl *c;
	int port;
	int address, config;
	uint8_t store[BULK_LEN];
	uint32_t stored;
	uint64_t held[16];	/* ids of EP_HOLD_IN URBs not answered */
	int nheld;
	uint64_t *hold_all;	/* bound scenario: every EP_HOLD_IN id, up to hold_cap */
	unsigned int nhold_all, hold_cap;
	uint64_t unlinked[16];	/* ids the kernel told us it unlinked */
	int nunlinked;
	int32_t unlink_status;
	int resets, submits, bad_completion_rejected;
	int port_events;
	int last_rc;
	char trace[32][96];	/* the last events, printed when a test fails */
	unsigned int ntrace;
};

static void trace(struct device *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->trace[d->ntrace++ % 32], sizeof(d->trace[0]), fmt, ap);
	va_end(ap);
}

static void dump_trace(struct device *d)
{
	unsigned int i = d->ntrace > 32 ? d->ntrace - 32 : 0;

	for (; i < d->ntrace; i++)
		printf("  trace: %s\n", d->trace[i % 32]);
	printf("  last serve rc %d\n", d->last_rc);
}

static int string_desc(int index, uint8_t *out)
{
	const char *s;
	int i, n;

	if (index == 0) {
		out[0] = 4; out[1] = USB_DT_STRING; out[2] = 0x09; out[3] = 0x04;
		return 4;
	}
	if (index >= (int)(sizeof(strings) / sizeof(strings[0])))
		return -1;
	s = strings[index];
	n = strlen(s);
	out[0] = 2 + 2 * n;
	out[1] = USB_DT_STRING;
	for (i = 0; i < n; i++) {
		out[2 + 2 * i] = s[i];
		out[3 + 2 * i] = 0;
	}
	return out[0];
}

static void handle_control(struct device *d, uint64_t id, const uint8_t *setup, uint32_t len)
{
	uint8_t reqtype = setup[0], req = setup[1];
	uint16_t value = setup[2] | setup[3] << 8;
	uint8_t buf[256];
	int n = -1;

	if ((reqtype & USB_TYPE_MASK) == USB_TYPE_STANDARD) {
		switch (req) {
		case USB_REQ_GET_DESCRIPTOR:
			switch (value >> 8) {
			case USB_DT_DEVICE:
				memcpy(buf, dev_desc, n = sizeof(dev_desc));
				break;
			case USB_DT_CONFIG:
				memcpy(buf, cfg_desc, n = sizeof(cfg_desc));
				break;
			case USB_DT_STRING:
				n = string_desc(value & 0xff, buf);
				break;
			}
			break;
		case USB_REQ_SET_ADDRESS:
			d->address = value;
			n = 0;
			break;
		case USB_REQ_SET_CONFIGURATION:
			d->config = value;
			n = 0;
			break;
		case USB_REQ_GET_CONFIGURATION:
			buf[0] = d->config;
			n = 1;
			break;
		case USB_REQ_GET_STATUS:
			buf[0] = buf[1] = 0;
			n = 2;
			break;
		case USB_REQ_SET_INTERFACE:
		case USB_REQ_CLEAR_FEATURE:
		case USB_REQ_SET_FEATURE:
			n = 0;
			break;
		}
	}
	if (n < 0) {
		complete(d->c, id, -EPIPE, 0, NULL, 0);
		return;
	}
	if (!(reqtype & USB_DIR_IN))
		n = 0;
	if ((uint32_t)n > len)
		n = len;
	n = complete(d->c, id, 0, n, buf, n);
	if (n)
		trace(d, "%.3f complete id %llu: %s", now(), (unsigned long long)id, strerror(-n));
}

static void handle_submit(struct device *d, const struct usbredir_vhci_event_submit *ev)
{
	uint64_t id = le64toh(ev->hdr.id);
	uint32_t len = le32toh(ev->transfer_length);
	const uint8_t *data = (const uint8_t *)(ev + 1);
	uint8_t out[BULK_LEN + 1];
	uint32_t i, n;

	d->submits++;
	trace(d, "%.3f submit id %llu addr %d ep 0x%02x type %d len %u setup %02x %02x %02x%02x",
	      now(), (unsigned long long)id, ev->address, ev->endpoint, ev->xfer_type, len,
	      ev->setup[0], ev->setup[1], ev->setup[3], ev->setup[2]);
	if (ev->address != d->address) {
		complete(d->c, id, -EPROTO, 0, NULL, 0);	/* not us */
		return;
	}
	if (ev->xfer_type == USBREDIR_VHCI_XFER_CONTROL) {
		handle_control(d, id, ev->setup, len);
	} else if (ev->endpoint == EP_BULK_OUT) {
		n = le32toh(ev->data_length);
		if (n > sizeof(d->store))
			n = sizeof(d->store);
		memcpy(d->store, data, n);
		d->stored = n;
		complete(d->c, id, 0, n, NULL, 0);
	} else if (ev->endpoint == EP_BULK_IN) {
		n = d->stored < len ? d->stored : len;
		for (i = 0; i < n; i++)	/* transformed, so an echo bug shows */
			out[i] = d->store[i] ^ 0x5a;
		/* A completion longer than the URB must be refused, changing nothing. */
		if (len + 1 <= sizeof(out) && complete(d->c, id, 0, len + 1, out, len + 1) == -EINVAL)
			d->bad_completion_rejected++;
		complete(d->c, id, 0, n, out, n);
	} else if (ev->endpoint == EP_HOLD_IN && d->nhold_all < d->hold_cap) {
		d->hold_all[d->nhold_all++] = id;
	} else if (ev->endpoint == EP_HOLD_IN && d->nheld < 16) {
		d->held[d->nheld++] = id;
	} else {
		complete(d->c, id, -EPIPE, 0, NULL, 0);
	}
}

/* Handles every queued event, waiting up to timeout_ms for the first. */
static int serve_once(struct device *d, int timeout_ms)
{
	static uint8_t buf[USBREDIR_VHCI_READ_MIN(4 << 20, 1024)];
	struct pollfd pfd = { .fd = d->c->fd, .events = POLLIN };
	ssize_t n, off;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	n = read(d->c->fd, buf, sizeof(buf));
	if (n < 0) {
		d->last_rc = -errno;
		trace(d, "%.3f read: %s", now(), strerror(errno));
		return -errno;
	}
	for (off = 0; off < n;) {
		struct usbredir_vhci_hdr *h = (void *)(buf + off);

		switch (le16toh(h->type)) {
		case USBREDIR_VHCI_EV_SUBMIT:
			handle_submit(d, (void *)h);
			break;
		case USBREDIR_VHCI_EV_UNLINK: {
			struct usbredir_vhci_event_unlink *u = (void *)h;

			trace(d, "%.3f unlink id %llu status %d", now(), (unsigned long long)le64toh(h->id),
			      (int32_t)le32toh(u->status));
			if (d->nunlinked < 16)
				d->unlinked[d->nunlinked++] = le64toh(h->id);
			d->unlink_status = (int32_t)le32toh(u->status);
			break;
		}
		case USBREDIR_VHCI_EV_PORT: {
			struct usbredir_vhci_event_port *p = (void *)h;

			d->port_events++;
			trace(d, "%.3f port %d event %d status 0x%04x change 0x%04x", now(), le16toh(h->port),
			      le16toh(p->event), le16toh(p->status), le16toh(p->change));
			if (le16toh(p->event) == USBREDIR_VHCI_PORT_RESET) {
				d->address = 0;
				d->resets++;
			}
			break;
		}
		}
		off += le32toh(h->length);
	}
	return 1;
}

/* Serves URBs until the usbfs client process exits (killed after timeout_s); returns its wait status. */
static int serve_while_child_runs(struct device *d, pid_t child, int timeout_s)
{
	double end = now() + timeout_s;
	int status = 0;

	while (waitpid(child, &status, WNOHANG) == 0) {
		if (now() >= end) {
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
			break;
		}
		serve_once(d, 20);
	}
	return status;
}

static void dev_path(const struct ctrl *c, int port, const char *attr, char *out, size_t len)
{
	snprintf(out, len, "/sys/bus/usb/devices/%d-%d/%s", c->busnum, port, attr);
}

/*
 * Serves until the device is configured or the deadline passes.
 *
 * "Configured" is seen as interface 1.0 appearing in sysfs (a stat, no lock), never by reading
 * bConfigurationValue: its show() takes the USB device lock, which the hub thread holds while it
 * waits for this very process to answer SET_CONFIGURATION. A single-threaded device that reads it
 * deadlocks until usbcore's 5 s control timeout ("can't set config #1, error -110").
 */
static int enumerate(struct device *d, double seconds)
{
	char path[128];
	double end = now() + seconds;

	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%d-%d:1.0", d->c->busnum, d->port);
	while (now() < end) {
		serve_once(d, 50);
		if (exists(path) && d->config == 1)
			return 0;
	}
	return -1;
}

/* ------------------------------------------------------------------ usbfs client */

static int open_usbfs(const struct ctrl *c, int port)
{
	char path[128], val[32], node[64];
	int fd, iface = 0;

	dev_path(c, port, "devnum", path, sizeof(path));
	if (read_sysfs(path, val, sizeof(val)))
		return -1;
	snprintf(node, sizeof(node), "/dev/bus/usb/%03d/%03d", c->busnum, atoi(val));
	fd = open(node, O_RDWR);
	if (fd < 0)
		return -1;
	if (ioctl(fd, USBDEVFS_CLAIMINTERFACE, &iface) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int bulk(int fd, int ep, void *data, int len, int timeout_ms)
{
	struct usbdevfs_bulktransfer bt = {
		.ep = ep, .len = len, .timeout = timeout_ms, .data = data,
	};

	return ioctl(fd, USBDEVFS_BULK, &bt);
}

/* Child: bulk out then in, then an unlinked URB. Exit code = step that failed. */
static int usbfs_client(const struct ctrl *c, int port)
{
	static uint8_t out[BULK_LEN], in[BULK_LEN];
	struct usbdevfs_urb urb = {
		.type = USBDEVFS_URB_TYPE_INTERRUPT, .endpoint = EP_HOLD_IN,
		.buffer = in, .buffer_length = 64,
	};
	struct usbdevfs_urb *reaped = NULL;
	int fd = open_usbfs(c, port), i;

	if (fd < 0)
		return 10;
	for (i = 0; i < BULK_LEN; i++)
		out[i] = (uint8_t)(i * 7 + 3);
	if (bulk(fd, EP_BULK_OUT, out, BULK_LEN, 10000) != BULK_LEN)
		return 11;
	if (bulk(fd, EP_BULK_IN, in, BULK_LEN, 10000) != BULK_LEN)
		return 12;
	for (i = 0; i < BULK_LEN; i++)
		if (in[i] != (out[i] ^ 0x5a))
			return 13;
	/* An URB the device never answers, cancelled by us: must come back on its own. */
	if (ioctl(fd, USBDEVFS_SUBMITURB, &urb) < 0)
		return 14;
	usleep(300 * 1000);
	if (ioctl(fd, USBDEVFS_DISCARDURB, &urb) < 0)
		return 15;
	if (ioctl(fd, USBDEVFS_REAPURB, &reaped) < 0 || reaped != &urb)
		return 16;
	if (urb.status != -ECONNRESET && urb.status != -ENOENT)
		return 17;
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ scenarios */

static void scenario_abi(void)
{
	struct usbredir_vhci_create req = { 0 };
	struct ctrl c;
	char path[160], val[512], before[512];
	uint8_t buf[256];
	int fd, rc;
	struct pollfd pfd;

	fd = open("/dev/vhci-ctrl", O_RDWR);
	CHECK(fd >= 0, "abi.open", "open /dev/vhci-ctrl: %s", strerror(errno));
	if (fd < 0)
		return;
	rc = ioctl(fd, USBREDIR_VHCI_IOC_ABI_VERSION);
	CHECK(rc == USBREDIR_VHCI_ABI_VERSION, "abi.version", "got %d", rc);
	CHECK(read(fd, buf, sizeof(buf)) < 0 && errno == EBADFD, "abi.read-before-create", "errno %d", errno);
	CHECK(write(fd, buf, 24) < 0 && errno == EBADFD, "abi.write-before-create", "errno %d", errno);

	req.abi_version = htole32(USBREDIR_VHCI_ABI_VERSION + 1);
	req.ports = htole32(4);
	CHECK(ioctl(fd, USBREDIR_VHCI_IOC_CREATE, &req) < 0 && errno == EPROTONOSUPPORT,
	      "abi.create-wrong-version", "errno %d", errno);
	req.abi_version = htole32(USBREDIR_VHCI_ABI_VERSION);
	req.ports = 0;
	CHECK(ioctl(fd, USBREDIR_VHCI_IOC_CREATE, &req) < 0 && errno == EINVAL, "abi.create-0-ports", "errno %d", errno);
	req.ports = htole32(32);
	CHECK(ioctl(fd, USBREDIR_VHCI_IOC_CREATE, &req) < 0 && errno == EINVAL, "abi.create-32-ports", "errno %d", errno);
	req.ports = htole32(4);
	req.reserved[3] = 1;
	CHECK(ioctl(fd, USBREDIR_VHCI_IOC_CREATE, &req) < 0 && errno == EINVAL, "abi.create-reserved", "errno %d", errno);
	req.reserved[3] = 0;
	req.flags = htole32(1);
	CHECK(ioctl(fd, USBREDIR_VHCI_IOC_CREATE, &req) < 0 && errno == EINVAL, "abi.create-flags", "errno %d", errno);
	req.flags = 0;
	CHECK(ioctl(fd, 0x1234) < 0 && errno == ENOTTY, "abi.unknown-ioctl", "errno %d", errno);
	close(fd);

	rc = ctrl_open(&c, 4);
	CHECK(rc == 0, "abi.create", "%s", strerror(-rc));
	if (rc)
		return;
	CHECK(c.busnum > 0 && strncmp(c.info.bus_id, "usbredir_vhci.", 14) == 0 &&
	      le32toh(c.info.max_transfer) >= BULK_LEN && le32toh(c.info.max_inflight) > 0,
	      "abi.create-result", "busnum %d bus_id %s", c.busnum, c.info.bus_id);
	CHECK(ioctl(c.fd, USBREDIR_VHCI_IOC_CREATE, &req) < 0 && errno == EBUSY, "abi.create-twice", "errno %d", errno);

	snprintf(path, sizeof(path), "/sys/devices/platform/%s/nports", c.info.bus_id);
	CHECK(read_sysfs(path, val, sizeof(val)) == 0 && strcmp(val, "4") == 0, "abi.sysfs-nports", "'%s'", val);
	snprintf(path, sizeof(path), "/sys/devices/platform/%s/abi_version", c.info.bus_id);
	CHECK(read_sysfs(path, val, sizeof(val)) == 0 && strcmp(val, "1") == 0, "abi.sysfs-abi", "'%s'", val);
	CHECK(read_sysfs("/sys/class/misc/vhci-ctrl/abi_version", val, sizeof(val)) == 0 && strcmp(val, "1") == 0,
	      "abi.sysfs-misc-abi", "'%s'", val);
	snprintf(path, sizeof(path), "/sys/bus/usb/devices/usb%d/maxchild", c.busnum);
	CHECK(read_sysfs(path, val, sizeof(val)) == 0 && strcmp(val, "4") == 0, "abi.roothub-ports", "'%s'", val);

	/* The hub powers its ports: four POWER_ON events, then the queue runs dry. */
	{
		struct device d = { .c = &c };
		double end = now() + 5;

		while (d.port_events < 4 && now() < end)
			serve_once(&d, 100);
		CHECK(d.port_events == 4, "abi.power-events", "%d port events", d.port_events);
	}
	pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN | POLLOUT };
	rc = poll(&pfd, 1, 0);
	CHECK(rc == 1 && pfd.revents == POLLOUT, "abi.poll-idle", "rc %d revents 0x%x", rc, pfd.revents);
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	CHECK(read(c.fd, buf, sizeof(buf)) < 0 && errno == EAGAIN, "abi.read-nonblock-empty", "errno %d", errno);

	/* Malformed writes: -EINVAL and no change in the port table. */
	snprintf(path, sizeof(path), "/sys/devices/platform/%s/ports", c.info.bus_id);
	read_sysfs(path, before, sizeof(before));
	{
		struct usbredir_vhci_cmd_connect cc = {
			.hdr.type = htole16(USBREDIR_VHCI_CMD_CONNECT), .hdr.port = htole16(1),
			.hdr.length = htole32(sizeof(cc)), .speed = htole32(USBREDIR_VHCI_SPEED_HIGH),
		};
		struct usbredir_vhci_cmd_connect bad;
		struct usbredir_vhci_cmd_complete cm = {
			.hdr.type = htole16(USBREDIR_VHCI_CMD_COMPLETE),
			.hdr.length = htole32(sizeof(cm)), .hdr.id = htole64(1000000),
		};
		int einval = 0, total = 0;

#define BAD(expr) do { bad = cc; expr; total++; \
		if (write(c.fd, &bad, sizeof(bad)) < 0 && errno == EINVAL) einval++; \
		else printf("  bad write accepted: %s (errno %d)\n", #expr, errno); } while (0)
		BAD(bad.hdr.port = 0);
		BAD(bad.hdr.port = htole16(5));
		BAD(bad.speed = htole32(9));
		BAD(bad.speed = 0);
		BAD(bad.reserved = 1);
		BAD(bad.hdr.id = htole64(7));
		BAD(bad.hdr.length = htole32(23));
		BAD(bad.hdr.type = htole16(0x7777));
		BAD(bad.hdr.type = htole16(USBREDIR_VHCI_EV_SUBMIT));
#undef BAD
		total += 3;
		if (write(c.fd, &cc, 8) < 0 && errno == EINVAL)
			einval++;
		if (write(c.fd, &cm, sizeof(cm)) < 0 && errno == EINVAL)	/* id never issued */
			einval++;
		if (write(c.fd, &cc, sizeof(cc) - 1) < 0 && errno == EINVAL)
			einval++;
		CHECK(einval == total, "abi.malformed-einval", "%d of %d malformed writes gave EINVAL", einval, total);
		read_sysfs(path, val, sizeof(val));
		CHECK(strcmp(before, val) == 0, "abi.malformed-no-change", "ports changed:\n%s\n->\n%s", before, val);
		CHECK(port_cmd(&c, USBREDIR_VHCI_CMD_DISCONNECT, 2, 0) == -ENOTCONN, "abi.disconnect-empty", "");
		CHECK(port_cmd(&c, USBREDIR_VHCI_CMD_CONNECT, 2, USBREDIR_VHCI_SPEED_FULL) == 0 &&
		      port_cmd(&c, USBREDIR_VHCI_CMD_CONNECT, 2, USBREDIR_VHCI_SPEED_FULL) == -EBUSY,
		      "abi.connect-busy", "");
	}

	/* A SUBMIT (GET_DESCRIPTOR from the hub driver) arrives; poll says so; a short read is EMSGSIZE. */
	pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	rc = poll(&pfd, 1, 5000);
	CHECK(rc == 1 && (pfd.revents & POLLIN), "abi.poll-wakes", "rc %d revents 0x%x", rc, pfd.revents);
	{
		struct usbredir_vhci_event_port pe;
		ssize_t n;

		double end = now() + 10;

		/* Drain port events (they fit) until the head is the SUBMIT (it does not). */
		do {
			n = read(c.fd, &pe, sizeof(pe));
			if (n < 0 && errno == EAGAIN)
				poll(&pfd, 1, 200);
		} while ((n >= 0 || errno == EAGAIN) && now() < end);
		CHECK(n < 0 && errno == EMSGSIZE, "abi.read-emsgsize", "n %zd errno %d", n, errno);
		n = read(c.fd, buf, sizeof(buf));
		CHECK(n >= (ssize_t)sizeof(struct usbredir_vhci_event_submit) &&
		      le16toh(((struct usbredir_vhci_hdr *)buf)->type) == USBREDIR_VHCI_EV_SUBMIT &&
		      le16toh(((struct usbredir_vhci_hdr *)buf)->port) == 2 &&
		      le64toh(((struct usbredir_vhci_hdr *)buf)->id) >= 1,
		      "abi.submit-after-emsgsize", "n %zd", n);
	}
	close(c.fd);
	snprintf(path, sizeof(path), "/sys/devices/platform/%s", c.info.bus_id);
	CHECK(!exists(path), "abi.close-removes", "%s still exists", path);
}

static void scenario_enum(void)
{
	struct ctrl c;
	struct device *d = calloc(1, sizeof(*d));
	char path[160], val[128];
	int rc, status, i, found;
	pid_t child;
	double t0, end;

	rc = ctrl_open(&c, 2);
	CHECK(rc == 0, "enum.create", "%s", strerror(-rc));
	if (rc)
		return;
	d->c = &c;
	d->port = 1;
	t0 = now();
	CHECK(port_cmd(&c, USBREDIR_VHCI_CMD_CONNECT, 1, USBREDIR_VHCI_SPEED_HIGH) == 0, "enum.connect", "");
	rc = enumerate(d, 20);
	CHECK(rc == 0, "enum.configured", "not configured after 20 s (%d submits, %d resets)", d->submits, d->resets);
	if (rc) {
		dump_trace(d);
		goto out;
	}
	printf("INFO enum.time %.2f s, %d URBs, %d resets\n", now() - t0, d->submits, d->resets);
	dev_path(&c, 1, "idVendor", path, sizeof(path));
	read_sysfs(path, val, sizeof(val));
	CHECK(strcmp(val, "1209") == 0, "enum.idVendor", "'%s'", val);
	dev_path(&c, 1, "idProduct", path, sizeof(path));
	read_sysfs(path, val, sizeof(val));
	CHECK(strcmp(val, "0001") == 0, "enum.idProduct", "'%s'", val);
	dev_path(&c, 1, "product", path, sizeof(path));
	read_sysfs(path, val, sizeof(val));
	CHECK(strcmp(val, "VHCI Test Device") == 0, "enum.product-string", "'%s'", val);
	dev_path(&c, 1, "speed", path, sizeof(path));
	read_sysfs(path, val, sizeof(val));
	CHECK(strcmp(val, "480") == 0, "enum.speed", "'%s'", val);
	CHECK(d->address > 0, "enum.set-address", "address %d", d->address);
	snprintf(path, sizeof(path), "/sys/devices/platform/%s/ports", c.info.bus_id);
	read_sysfs(path, val, sizeof(val));
	CHECK(strstr(val, "\n1 high 1 1 0 0x0503 0x0000") != NULL, "enum.sysfs-ports", "'%s'", val);

	child = fork();
	if (child == 0)
		_exit(usbfs_client(&c, 1));
	status = serve_while_child_runs(d, child, 60);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "enum.usbfs-bulk-and-unlink",
	      "client exit status 0x%x (step %d)", status, WEXITSTATUS(status));
	CHECK(d->bad_completion_rejected >= 1, "enum.oversized-completion-einval", "%d", d->bad_completion_rejected);
	/* The discarded URB: seen as SUBMIT (held), then UNLINK with the same id. */
	for (i = 0; i < 10 && d->nunlinked == 0; i++)
		serve_once(d, 100);
	found = d->nheld >= 1 && d->nunlinked >= 1 && d->held[0] == d->unlinked[0];
	CHECK(found, "enum.unlink-event", "held %d unlinked %d", d->nheld, d->nunlinked);
	if (found) {
		CHECK(d->unlink_status == -ECONNRESET || d->unlink_status == -ENOENT, "enum.unlink-status",
		      "%d", d->unlink_status);
		/* A late answer for an unlinked id is accepted and ignored. */
		CHECK(complete(&c, d->held[0], 0, 0, NULL, 0) == 0, "enum.late-complete-ignored", "");
	}
	snprintf(path, sizeof(path), "/sys/devices/platform/%s/inflight", c.info.bus_id);
	read_sysfs(path, val, sizeof(val));
	CHECK(strcmp(val, "0") == 0, "enum.inflight-zero", "inflight '%s'", val);

	/* Unplug: the device goes away, the port is free again. */
	CHECK(port_cmd(&c, USBREDIR_VHCI_CMD_DISCONNECT, 1, 0) == 0, "enum.disconnect", "");
	dev_path(&c, 1, "idVendor", path, sizeof(path));
	end = now() + 10;
	while (exists(path) && now() < end)
		serve_once(d, 50);
	CHECK(!exists(path), "enum.disconnect-removes-device", "%s still there", path);
out:
	close(c.fd);
	free(d);
}

/* Device process for the kill and rmmod scenarios: enumerate, report, serve forever. */
static void serve_forever(int port, int report_fd, const char *ready_file)
{
	struct ctrl c;
	struct device *d = calloc(1, sizeof(*d));
	int reported_hold = 0;
	int rc = ctrl_open(&c, 1);

	if (rc < 0) {
		printf("serve: cannot create a controller: %s\n", strerror(-rc));
		_exit(20);
	}
	d->c = &c;
	d->port = port;
	if (port_cmd(&c, USBREDIR_VHCI_CMD_CONNECT, port, USBREDIR_VHCI_SPEED_HIGH)) {
		printf("serve: CONNECT failed: %s\n", strerror(errno));
		_exit(21);
	}
	if (enumerate(d, 20)) {
		/* Say why, so a failing rmmod/kill scenario is diagnosable from its log. */
		printf("serve: not configured after 20 s (%d submits, %d resets, address %d, config %d)\n",
		       d->submits, d->resets, d->address, d->config);
		dump_trace(d);
		_exit(21);
	}
	if (report_fd >= 0 && write(report_fd, &c, sizeof(c)) != sizeof(c))
		_exit(22);
	if (ready_file)
		close(open(ready_file, O_CREAT | O_WRONLY, 0644));
	for (;;) {
		serve_once(d, 100);
		if (d->nheld && !reported_hold && report_fd >= 0) {
			reported_hold = 1;
			if (write(report_fd, "H", 1) != 1)
				_exit(23);
		}
	}
}

static void scenario_kill(void)
{
	int pipefd[2];
	struct ctrl c;
	char h, path[160], val[512];
	pid_t dev, client;
	int status, fd;
	double end;

	if (pipe(pipefd))
		return;
	dev = fork();
	if (dev == 0) {
		close(pipefd[0]);
		serve_forever(1, pipefd[1], NULL);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, sizeof(c)) != sizeof(c)) {
		CHECK(0, "kill.device-up", "device process did not enumerate");
		waitpid(dev, &status, 0);
		return;
	}
	CHECK(1, "kill.device-up", "");
	client = fork();
	if (client == 0) {
		uint8_t buf[64];

		fd = open_usbfs(&c, 1);
		if (fd < 0)
			_exit(30);
		/* No timeout: only the controller going away can end this. */
		if (bulk(fd, EP_HOLD_IN, buf, sizeof(buf), 0) >= 0)
			_exit(31);
		printf("INFO kill.transfer-error %s\n", strerror(errno));
		_exit(0);
	}
	CHECK(read(pipefd[0], &h, 1) == 1, "kill.transfer-held", "");
	snprintf(path, sizeof(path), "/sys/devices/platform/%s/inflight", c.info.bus_id);
	read_sysfs(path, val, sizeof(val));
	CHECK(atoi(val) >= 1, "kill.inflight-visible", "inflight '%s'", val);

	kill(dev, SIGKILL);
	waitpid(dev, &status, 0);
	end = now() + 15;
	while (waitpid(client, &status, WNOHANG) == 0 && now() < end)
		usleep(20000);
	if (now() >= end) {
		CHECK(0, "kill.transfer-ends", "usbfs transfer still blocked 15 s after the kill");
		kill(client, SIGKILL);
		waitpid(client, &status, 0);
	} else {
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "kill.transfer-ends", "client status 0x%x", status);
	}
	snprintf(path, sizeof(path), "/sys/devices/platform/%s", c.info.bus_id);
	CHECK(!exists(path), "kill.controller-removed", "%s still exists", path);
	snprintf(path, sizeof(path), "/sys/bus/usb/devices/usb%d", c.busnum);
	CHECK(!exists(path), "kill.bus-removed", "%s still exists", path);
	close(pipefd[0]);
}

static void scenario_multi(void)
{
	struct ctrl c[3];
	char path[160], val[32];
	int i, ok = 1, rc;

	for (i = 0; i < 3; i++) {
		rc = ctrl_open(&c[i], USBREDIR_VHCI_MAX_PORTS);
		if (rc) {
			CHECK(0, "multi.create", "controller %d: %s", i, strerror(-rc));
			return;
		}
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/sys/bus/usb/devices/usb%d/maxchild", c[i].busnum);
		ok &= read_sysfs(path, val, sizeof(val)) == 0 && atoi(val) == USBREDIR_VHCI_MAX_PORTS;
	}
	CHECK(ok && c[0].busnum != c[1].busnum && c[1].busnum != c[2].busnum && c[0].busnum != c[2].busnum,
	      "multi.three-controllers-31-ports", "busnums %d %d %d", c[0].busnum, c[1].busnum, c[2].busnum);
	CHECK(port_cmd(&c[1], USBREDIR_VHCI_CMD_CONNECT, 31, USBREDIR_VHCI_SPEED_LOW) == 0, "multi.connect-port-31", "");
	for (i = 0; i < 3; i++)
		close(c[i].fd);
	ok = 1;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/sys/bus/usb/devices/usb%d", c[i].busnum);
		ok &= !exists(path);
	}
	CHECK(ok, "multi.close-removes-all", "");
}

/* ------------------------------------------------------------------ memory bound */

struct bound_report {
	int submitted;		/* URBs accepted before the first refusal */
	int err;		/* errno of that refusal (0: none within limit + 1) */
};

/*
 * Child: submits never-answered URBs until one is refused and reports how many went in; once
 * the device answered the first half, reaps those, submits one more (the space is back), then
 * discards and reaps everything left. Exit code = step that failed.
 */
static int bound_client(const struct ctrl *c, int port, int limit, int report_fd, int go_fd)
{
	static uint8_t buf[8];	/* shared: the data is never looked at */
	struct usbdevfs_urb *urbs = calloc(limit + 1, sizeof(*urbs)), *reaped;
	struct bound_report r = { 0, 0 };
	int fd = open_usbfs(c, port), i, half, left;
	char go;

	if (fd < 0 || !urbs)
		return 40;
	for (i = 0; i <= limit; i++) {
		urbs[i] = (struct usbdevfs_urb){
			.type = USBDEVFS_URB_TYPE_INTERRUPT, .endpoint = EP_HOLD_IN,
			.buffer = buf, .buffer_length = sizeof(buf),
		};
		if (ioctl(fd, USBDEVFS_SUBMITURB, &urbs[i]) < 0) {
			r.err = errno;
			break;
		}
		r.submitted++;
	}
	if (write(report_fd, &r, sizeof(r)) != sizeof(r) || read(go_fd, &go, 1) != 1)
		return 41;
	half = r.submitted / 2;
	for (i = 0; i < half; i++) {
		if (ioctl(fd, USBDEVFS_REAPURB, &reaped) < 0)
			return 42;
		if (reaped->status != 0 || reaped - urbs >= half)
			return 43;	/* only the answered ones may come back yet */
	}
	/* The answered half freed room: a new URB is accepted again. */
	urbs[r.submitted] = (struct usbdevfs_urb){
		.type = USBDEVFS_URB_TYPE_INTERRUPT, .endpoint = EP_HOLD_IN,
		.buffer = buf, .buffer_length = sizeof(buf),
	};
	if (ioctl(fd, USBDEVFS_SUBMITURB, &urbs[r.submitted]) < 0)
		return 44;
	for (i = half; i <= r.submitted; i++)
		if (ioctl(fd, USBDEVFS_DISCARDURB, &urbs[i]) < 0)
			return 45;
	for (left = r.submitted + 1 - half; left > 0; left--) {
		if (ioctl(fd, USBDEVFS_REAPURB, &reaped) < 0)
			return 46;
		if (reaped->status != -ECONNRESET && reaped->status != -ENOENT)
			return 47;
	}
	close(fd);
	free(urbs);
	return 0;
}

static int read_inflight(const struct ctrl *c)
{
	char path[160], val[32];

	snprintf(path, sizeof(path), "/sys/devices/platform/%s/inflight", c->info.bus_id);
	return read_sysfs(path, val, sizeof(val)) ? -1 : atoi(val);
}

static void scenario_bound(void)
{
	struct ctrl c;
	struct device *d = calloc(1, sizeof(*d));
	struct bound_report r;
	int rep[2], go[2], rc, limit, base, n, ok, i, status = 0;
	pid_t child;
	double end;

	rc = ctrl_open(&c, 1);
	CHECK(rc == 0, "bound.create", "%s", strerror(-rc));
	if (rc || pipe(rep) || pipe(go))
		return;
	d->c = &c;
	d->port = 1;
	limit = (int)le32toh(c.info.max_inflight);
	if (port_cmd(&c, USBREDIR_VHCI_CMD_CONNECT, 1, USBREDIR_VHCI_SPEED_HIGH) || enumerate(d, 20)) {
		CHECK(0, "bound.device-up", "not configured after 20 s (%d submits)", d->submits);
		dump_trace(d);
		goto out;
	}
	base = read_inflight(&c);
	CHECK(base == 0, "bound.device-up", "inflight %d before the client", base);
	d->hold_all = calloc(limit + 1, sizeof(*d->hold_all));
	d->hold_cap = limit + 1;

	child = fork();
	if (child == 0)
		_exit(bound_client(&c, 1, limit, rep[1], go[0]));
	/* Nothing is read meanwhile: queued, unread URBs count against the bound too. */
	if (read(rep[0], &r, sizeof(r)) != sizeof(r)) {
		CHECK(0, "bound.fills-to-max-inflight", "client died before reporting");
		waitpid(child, &status, 0);
		goto out;
	}
	printf("INFO bound.max_inflight %d, accepted %d, then errno %d (%s)\n", limit, r.submitted, r.err,
	       strerror(r.err));
	CHECK(r.submitted == limit - base, "bound.fills-to-max-inflight", "%d accepted, limit %d", r.submitted, limit);
	CHECK(r.err == ENOSPC, "bound.next-submit-enospc", "errno %d (%s)", r.err, strerror(r.err));
	n = read_inflight(&c);
	CHECK(n == limit, "bound.inflight-at-limit", "inflight %d, limit %d", n, limit);

	/* Reading them hands them to user space; they still count until answered. */
	end = now() + 20;
	while (d->nhold_all < (unsigned int)r.submitted && now() < end)
		serve_once(d, 100);
	n = read_inflight(&c);
	CHECK(d->nhold_all == (unsigned int)r.submitted && n <= limit, "bound.read-keeps-bound",
	      "%u of %d read, inflight %d", d->nhold_all, r.submitted, n);

	ok = 1;
	for (i = 0; i < r.submitted / 2 && i < (int)d->nhold_all; i++)
		ok &= complete(&c, d->hold_all[i], 0, 0, NULL, 0) == 0;
	n = read_inflight(&c);
	CHECK(ok && n == limit - r.submitted / 2, "bound.answers-free-room", "inflight %d after %d answers",
	      n, r.submitted / 2);

	if (write(go[1], "g", 1) != 1)
		goto out;
	status = serve_while_child_runs(d, child, 60);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "bound.resubmit-and-unlink-all",
	      "client exit status 0x%x (step %d)", status, WEXITSTATUS(status));
	/* The unlink notices still count until read: serve until they are. */
	end = now() + 10;
	while ((n = read_inflight(&c)) != 0 && now() < end)
		serve_once(d, 50);
	CHECK(n == 0, "bound.inflight-zero", "inflight %d", n);
out:
	close(c.fd);
	free(d->hold_all);
	free(d);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fprintf(stderr, "usage: %s abi|enum|kill|multi|bound|serve FILE\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "abi"))
		scenario_abi();
	else if (!strcmp(argv[1], "enum"))
		scenario_enum();
	else if (!strcmp(argv[1], "kill"))
		scenario_kill();
	else if (!strcmp(argv[1], "multi"))
		scenario_multi();
	else if (!strcmp(argv[1], "bound"))
		scenario_bound();
	else if (!strcmp(argv[1], "serve") && argc == 3)
		serve_forever(1, -1, argv[2]);
	else {
		fprintf(stderr, "unknown scenario %s\n", argv[1]);
		return 2;
	}
	return failures ? 1 : 0;
}
