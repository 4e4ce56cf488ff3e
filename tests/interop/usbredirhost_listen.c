/* The reference usb-host for the differential usb-host test (UsbHostEdgeVmTests): Debian's libusbredirhost, the
 * library usbredirect is built on, exporting one libusb device to the first peer that connects to 127.0.0.1:PORT,
 * in one thread (libusb events and the socket polled in turn), until that peer hangs up.
 *
 *   usbredirhost_listen VID:PID PORT
 *
 * Why not usbredirect itself: usbredirect logs the library's error-level messages with g_error(), which aborts the
 * process ("control packet on non control ep" ends it with SIGTRAP), so no rule past the first refused request could
 * be observed through it. The library's messages go to stderr here; what usbredirhost_read_guest_data returns is
 * printed there too ("read status -3" after a filter_reject), and the host goes on serving, as the peer decides.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libusb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <usbredirhost.h>
#include "socket_io.h"

static void on_log(void *priv, int level, const char *msg)
{
    (void)priv;
    fprintf(stderr, "usbredirhost[%d]: %s\n", level, msg);
}

int main(int argc, char **argv)
{
    unsigned vid, pid;
    libusb_context *ctx;
    libusb_device_handle *handle;
    struct usbredirhost *host;
    struct sockaddr_in addr = { .sin_family = AF_INET };
    int listener, one = 1, r;

    if (argc != 3 || sscanf(argv[1], "%x:%x", &vid, &pid) != 2) {
        fprintf(stderr, "usage: usbredirhost_listen VID:PID PORT\n");
        return 2;
    }
    if ((r = libusb_init(&ctx)) != 0) {
        fprintf(stderr, "usbredirhost_listen: libusb_init: %s\n", libusb_error_name(r));
        return 1;
    }
    if (!(handle = libusb_open_device_with_vid_pid(ctx, (uint16_t)vid, (uint16_t)pid))) {
        fprintf(stderr, "usbredirhost_listen: cannot open %04x:%04x\n", vid, pid);
        return 1;
    }

    listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, 1) < 0) {
        fprintf(stderr, "usbredirhost_listen: listen 127.0.0.1:%s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    fprintf(stderr, "usbredirhost_listen: listening on 127.0.0.1:%s\n", argv[2]);
    if ((fd = accept(listener, NULL, NULL)) < 0) {
        fprintf(stderr, "usbredirhost_listen: accept: %s\n", strerror(errno));
        return 1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    host = usbredirhost_open_full(ctx, handle, on_log, on_read, on_write, NULL, NULL, NULL, NULL, NULL, NULL,
                                  "usbredirhost_listen", usbredirparser_info, 0);
    if (!host) {
        fprintf(stderr, "usbredirhost_listen: usbredirhost_open_full failed\n");
        return 1;
    }
    while (!hung_up) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        struct timeval zero = { 0, 0 };
        if (usbredirhost_has_data_to_write(host))
            p.events |= POLLOUT;
        poll(&p, 1, 2);
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            r = usbredirhost_read_guest_data(host);
            if (r != 0)
                fprintf(stderr, "usbredirhost_listen: read status %d\n", r);
        }
        if (usbredirhost_has_data_to_write(host) && usbredirhost_write_guest_data(host) < 0)
            break;
        libusb_handle_events_timeout_completed(ctx, &zero, NULL);
    }
    fprintf(stderr, "usbredirhost_listen: the peer hung up\n");
    usbredirhost_close(host); /* closes the handle and re-attaches the kernel drivers */
    close(fd);
    libusb_exit(ctx);
    return 0;
}
