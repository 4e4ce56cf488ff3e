/* A scripted usb-guest for the differential usb-host test (UsbHostEdgeVmTests): connects to a usb-host (the real
 * libusbredirhost through usbredirhost_listen.c, or our exporter with --listen), reads its announcement, then runs a script of steps and prints every
 * packet it gets back in a normalized form, so that two transcripts of the same device can be compared line by line.
 * Packets go through Debian's libusbredirparser (the usb-guest role), so neither side's codec is ours. Each line is
 * the packet type, its status and fields, and data as "length:FNV-1a hash:first 16 bytes"; ids and the host's
 * version string are left out.
 *
 *   usbredir_guest_peer PORT SCRIPT        (connects to 127.0.0.1:PORT)
 *
 * SCRIPT has one step a line, "NAME: COMMAND; COMMAND; ...", blank lines and lines from '#' ignored. Step number s
 * (from 1) sends its commands with ids s*100+1, s*100+2, ...; then a barrier (get_configuration, id s*100+99) that
 * usb-hosts answer in order, and the step ends when the barrier's answer arrives. A packet whose id belongs to a step
 * is printed under that step, whenever it arrives (so a late completion still lands under the step that asked for
 * it); packets of the host's own (device_connect, interrupt receiving data...) under the step running when they came.
 * Ids print relative to their step ("#1" = the step's first command).
 *
 * Commands (numbers in C notation, data in hex):
 *   ctrl EP REQTYPE REQ VALUE INDEX LENGTH [DATA]   bulk EP LENGTH [DATA]   intr EP LENGTH [DATA]   iso EP LENGTH [DATA]
 *   setconf N   getconf   setalt IF ALT   getalt IF   startiso EP PKTS URBS   stopiso EP   startint EP   stopint EP
 *   alloc EPMASK N   free EPMASK   startbulk EP BYTES N   stopbulk EP   cancel K (the id of this step's command K)
 *   cancelid ID   reset   reject   wait MS (pump the connection for MS ms before the next command)
 *   waitinfo MS (pump until the next ep_info, which ends a layout: interface_info, then ep_info; at most MS ms, else
 *   prints "no ep_info within MS ms". Other answers may come between the two: the host's request handlers run apart.)
 *
 * Each data packet, setconf and setalt waits for its answer (up to 20 s) before the barrier, so a later step can rely
 * on it, and so the interface_info and ep_info a configuration or alternate setting change sends before its status
 * land under its step even when the usb-host answers the barrier before the change is done (usbredirhost handles
 * requests in order; our exporter answers get_configuration at once). The other status requests are not waited for:
 * some are answered by neither host (start_iso_stream on a control endpoint), and their answers carry the step's id.
 *
 * Output: "STEP | LINE" lines, in step order; the announcement is step "announce"; a connection the host closed
 * prints "closed"; a barrier not answered within 20 s prints "barrier timeout" and ends the script.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <usbredirparser.h>
#include "socket_io.h"

#define MAX_STEPS 200
#define MAX_LINES 4000

static struct usbredirparser *parser;
static int connected;
static int layout_came; /* set by every ep_info; the waitinfo command clears it */
static int current_step; /* 0 = announce */
static char step_names[MAX_STEPS][64];
static int barrier_done;
/* Data packets, setconf and setalt of the running step not answered yet (each is answered exactly once). */
static uint64_t outstanding[16];
static int outstanding_count, all_answered = 1;
/* Set when libusbredirparser refused to send the running command (logged an error): nothing will answer it. */
static int send_refused;
static struct {
    int step;
    int order; /* 0: the host's own packets and notes; else the id within the step (99 = the barrier) */
    char *text;
} lines[MAX_LINES];
static int next_order; /* the order of the next add_line */
static int line_count;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("usbredir_guest_peer: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void add_line(int step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_line(int step, const char *fmt, ...)
{
    va_list ap;
    if (line_count == MAX_LINES)
        die("more than %d lines", MAX_LINES);
    va_start(ap, fmt);
    if (vasprintf(&lines[line_count].text, fmt, ap) < 0)
        die("out of memory");
    va_end(ap);
    lines[line_count].order = next_order;
    next_order = 0;
    lines[line_count++].step = step;
}

/* The step an id belongs to, and the id relative to it ("#K"), or the running step for the host's own ids. */
static int step_of(uint64_t id, char *rel, size_t n)
{
    next_order = 0;
    if (id >= 100 && id / 100 <= (uint64_t)current_step) {
        next_order = (int)(id % 100);
        if (id % 100 == 99)
            snprintf(rel, n, "#barrier");
        else
            snprintf(rel, n, "#%" PRIu64, id % 100);
        return (int)(id / 100);
    }
    snprintf(rel, n, "host-id");
    return current_step;
}

static uint32_t fnv1a(const uint8_t *p, int n)
{
    uint32_t h = 2166136261u;
    int i;
    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static const char *status_name(uint8_t s)
{
    static const char *names[] = { "success", "cancelled", "inval", "ioerror", "stall", "timeout", "babble" };
    static char other[16];
    if (s < sizeof(names) / sizeof(names[0]))
        return names[s];
    snprintf(other, sizeof(other), "status%u", s);
    return other;
}

static void answered(uint64_t id);

/* ---- callbacks: each received packet becomes one line ---- */

static void on_log(void *priv, int level, const char *msg)
{
    (void)priv;
    if (level <= usbredirparser_error) {
        add_line(current_step, "parser error: %s", msg);
        send_refused = 1;
    }
}

static void on_hello(void *priv, struct usb_redir_hello_header *h)
{
    static const char *caps[] = { "bulk_streams", "connect_device_version", "filter", "device_disconnect_ack",
        "ep_info_max_packet_size", "64bits_ids", "32bits_bulk_length", "bulk_receiving" };
    char text[256] = "";
    size_t i;
    (void)priv;
    (void)h; /* the version string names the implementation: not compared */
    for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (usbredirparser_peer_has_cap(parser, (int)i)) {
            strcat(text, " ");
            strcat(text, caps[i]);
        }
    add_line(current_step, "hello caps:%s", text);
}

static void on_device_connect(void *priv, struct usb_redir_device_connect_header *d)
{
    (void)priv;
    connected = 1;
    add_line(current_step, "device_connect speed=%u class=%02x/%02x/%02x id=%04x:%04x bcd=%04x", d->speed,
             d->device_class, d->device_subclass, d->device_protocol, d->vendor_id, d->product_id,
             d->device_version_bcd);
}

static void on_device_disconnect(void *priv)
{
    (void)priv;
    add_line(current_step, "device_disconnect");
}

static void on_interface_info(void *priv, struct usb_redir_interface_info_header *h)
{
    uint32_t i;
    (void)priv;
    add_line(current_step, "interface_info count=%u", h->interface_count);
    for (i = 0; i < h->interface_count && i < 32; i++)
        add_line(current_step, "interface_info if=%u class=%02x/%02x/%02x", h->interface[i], h->interface_class[i],
                 h->interface_subclass[i], h->interface_protocol[i]);
}

static void on_ep_info(void *priv, struct usb_redir_ep_info_header *h)
{
    int i;
    (void)priv;
    layout_came = 1;
    add_line(current_step, "ep_info");
    for (i = 0; i < 32; i++) {
        if (h->type[i] == usb_redir_type_invalid)
            continue;
        add_line(current_step, "ep_info ep=%02x type=%u interval=%u if=%u maxp=%u streams=%u",
                 (i & 0x0f) | (i & 0x10 ? 0x80 : 0), h->type[i], h->interval[i], h->interface[i],
                 h->max_packet_size[i], h->max_streams[i]);
    }
}

static void on_configuration_status(void *priv, uint64_t id, struct usb_redir_configuration_status_header *h)
{
    char rel[24];
    int step = step_of(id, rel, sizeof(rel));
    (void)priv;
    answered(id);
    add_line(step, "configuration_status %s %s config=%u", rel, status_name(h->status), h->configuration);
    if (id == (uint64_t)current_step * 100 + 99)
        barrier_done = 1;
}

static void on_alt_setting_status(void *priv, uint64_t id, struct usb_redir_alt_setting_status_header *h)
{
    char rel[24];
    (void)priv;
    answered(id);
    add_line(step_of(id, rel, sizeof(rel)), "alt_setting_status %s %s if=%u alt=%u", rel, status_name(h->status),
             h->interface, h->alt);
}

static void on_iso_stream_status(void *priv, uint64_t id, struct usb_redir_iso_stream_status_header *h)
{
    char rel[24];
    (void)priv;
    answered(id);
    add_line(step_of(id, rel, sizeof(rel)), "iso_stream_status %s %s ep=%02x", rel, status_name(h->status), h->endpoint);
}

static void on_interrupt_receiving_status(void *priv, uint64_t id, struct usb_redir_interrupt_receiving_status_header *h)
{
    char rel[24];
    (void)priv;
    answered(id);
    add_line(step_of(id, rel, sizeof(rel)), "interrupt_receiving_status %s %s ep=%02x", rel, status_name(h->status),
             h->endpoint);
}

static void on_bulk_streams_status(void *priv, uint64_t id, struct usb_redir_bulk_streams_status_header *h)
{
    char rel[24];
    (void)priv;
    answered(id);
    add_line(step_of(id, rel, sizeof(rel)), "bulk_streams_status %s %s eps=%08x streams=%u", rel,
             status_name(h->status), h->endpoints, h->no_streams);
}

static void on_bulk_receiving_status(void *priv, uint64_t id, struct usb_redir_bulk_receiving_status_header *h)
{
    char rel[24];
    (void)priv;
    answered(id);
    add_line(step_of(id, rel, sizeof(rel)), "bulk_receiving_status %s %s ep=%02x stream=%u", rel,
             status_name(h->status), h->endpoint, h->stream_id);
}

static void answered(uint64_t id)
{
    int i;
    for (i = 0; i < outstanding_count; i++)
        if (outstanding[i] == id) {
            outstanding[i] = outstanding[--outstanding_count];
            break;
        }
    all_answered = outstanding_count == 0;
}

static void data_line(const char *type, uint64_t id, uint8_t ep, uint8_t status, unsigned length, uint8_t *data,
                      int data_len, const char *extra)
{
    char rel[24];
    answered(id);
    char head[40] = "";
    int i;
    for (i = 0; i < data_len && i < 16; i++)
        snprintf(head + 2 * i, 3, "%02x", data[i]);
    add_line(step_of(id, rel, sizeof(rel)), "%s %s %s ep=%02x length=%u data=%d:%08x:%s%s", type, rel,
             status_name(status), ep, length, data_len, fnv1a(data, data_len), head, extra);
    if (data)
        usbredirparser_free_packet_data(parser, data);
}

static void on_control_packet(void *priv, uint64_t id, struct usb_redir_control_packet_header *h, uint8_t *data, int n)
{
    char extra[64];
    (void)priv;
    snprintf(extra, sizeof(extra), " setup=%02x/%02x/%04x/%04x", h->requesttype, h->request, h->value, h->index);
    data_line("control_packet", id, h->endpoint, h->status, h->length, data, n, extra);
}

static void on_bulk_packet(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h, uint8_t *data, int n)
{
    char extra[32];
    (void)priv;
    snprintf(extra, sizeof(extra), " stream=%u", h->stream_id);
    data_line("bulk_packet", id, h->endpoint, h->status, ((unsigned)h->length_high << 16) | h->length, data, n, extra);
}

static void on_iso_packet(void *priv, uint64_t id, struct usb_redir_iso_packet_header *h, uint8_t *data, int n)
{
    (void)priv;
    data_line("iso_packet", id, h->endpoint, h->status, h->length, data, n, "");
}

static void on_interrupt_packet(void *priv, uint64_t id, struct usb_redir_interrupt_packet_header *h, uint8_t *data, int n)
{
    (void)priv;
    data_line("interrupt_packet", id, h->endpoint, h->status, h->length, data, n, "");
}

static void on_buffered_bulk_packet(void *priv, uint64_t id, struct usb_redir_buffered_bulk_packet_header *h,
                                    uint8_t *data, int n)
{
    (void)priv;
    data_line("buffered_bulk_packet", id, h->endpoint, h->status, h->length, data, n, "");
}

/* ---- the connection ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads and writes until *done is set, the host closes, or ms pass (done may be NULL: just pump). */
static void pump(double ms, const int *done)
{
    double deadline = now() + ms / 1000;
    while (!hung_up && !(done && *done)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        double left = deadline - now();
        if (left <= 0)
            break;
        if (usbredirparser_has_data_to_write(parser))
            p.events |= POLLOUT;
        if (poll(&p, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            if (usbredirparser_do_read(parser) == -2)
                add_line(current_step, "parse error");
        if (usbredirparser_has_data_to_write(parser))
            usbredirparser_do_write(parser);
    }
}

static void flush_writes(void)
{
    double deadline = now() + 10;
    while (!hung_up && usbredirparser_has_data_to_write(parser) && now() < deadline) {
        usbredirparser_do_write(parser);
        if (usbredirparser_has_data_to_write(parser))
            pump(10, NULL);
    }
}

/* ---- the script ---- */

static unsigned long num(char **save, const char *what, const char *cmd)
{
    char *t = strtok_r(NULL, " \t", save), *end;
    unsigned long v;
    if (!t)
        die("'%s' lacks %s", cmd, what);
    v = strtoul(t, &end, 0);
    if (*end)
        die("'%s': %s '%s' is not a number", cmd, what, t);
    return v;
}

/* The optional hex data argument; returns its length (0 and NULL without one). */
static int hexdata(char **save, uint8_t **out)
{
    char *t = strtok_r(NULL, " \t", save);
    size_t n, i;
    *out = NULL;
    if (!t)
        return 0;
    n = strlen(t) / 2;
    *out = malloc(n ? n : 1);
    for (i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(t + 2 * i, "%2x", &v) != 1)
            die("bad hex data '%s'", t);
        (*out)[i] = (uint8_t)v;
    }
    return (int)n;
}

static void expect_answer(uint64_t id)
{
    if (send_refused) /* e.g. alloc_bulk_streams to a host without the bulk_streams capability */
        return;
    if (outstanding_count == (int)(sizeof(outstanding) / sizeof(outstanding[0])))
        die("too many data packets in one step");
    outstanding[outstanding_count++] = id;
    all_answered = 0;
}

static void run_command(char *cmd, uint64_t id)
{
    char *save = NULL, copy[512], *op;
    uint8_t *data;
    int n;
    snprintf(copy, sizeof(copy), "%s", cmd);
    send_refused = 0;
    op = strtok_r(copy, " \t", &save);
    if (!op)
        return;
    if (!strcmp(op, "ctrl")) {
        struct usb_redir_control_packet_header h = { 0 };
        h.endpoint = (uint8_t)num(&save, "EP", cmd);
        h.requesttype = (uint8_t)num(&save, "REQTYPE", cmd);
        h.request = (uint8_t)num(&save, "REQ", cmd);
        h.value = (uint16_t)num(&save, "VALUE", cmd);
        h.index = (uint16_t)num(&save, "INDEX", cmd);
        h.length = (uint16_t)num(&save, "LENGTH", cmd);
        n = hexdata(&save, &data);
        usbredirparser_send_control_packet(parser, id, &h, data, n);
        expect_answer(id);
        free(data);
    } else if (!strcmp(op, "bulk")) {
        struct usb_redir_bulk_packet_header h = { 0 };
        unsigned long length;
        h.endpoint = (uint8_t)num(&save, "EP", cmd);
        length = num(&save, "LENGTH", cmd);
        h.length = (uint16_t)length;
        h.length_high = (uint16_t)(length >> 16);
        n = hexdata(&save, &data);
        usbredirparser_send_bulk_packet(parser, id, &h, data, n);
        expect_answer(id);
        free(data);
    } else if (!strcmp(op, "intr")) {
        struct usb_redir_interrupt_packet_header h = { 0 };
        h.endpoint = (uint8_t)num(&save, "EP", cmd);
        h.length = (uint16_t)num(&save, "LENGTH", cmd);
        n = hexdata(&save, &data);
        usbredirparser_send_interrupt_packet(parser, id, &h, data, n);
        expect_answer(id);
        free(data);
    } else if (!strcmp(op, "iso")) {
        struct usb_redir_iso_packet_header h = { 0 };
        h.endpoint = (uint8_t)num(&save, "EP", cmd);
        h.length = (uint16_t)num(&save, "LENGTH", cmd);
        n = hexdata(&save, &data);
        usbredirparser_send_iso_packet(parser, id, &h, data, n);
        free(data);
    } else if (!strcmp(op, "setconf")) {
        struct usb_redir_set_configuration_header h = { (uint8_t)num(&save, "N", cmd) };
        usbredirparser_send_set_configuration(parser, id, &h);
        expect_answer(id);
    } else if (!strcmp(op, "getconf")) {
        usbredirparser_send_get_configuration(parser, id);
    } else if (!strcmp(op, "setalt")) {
        struct usb_redir_set_alt_setting_header h;
        h.interface = (uint8_t)num(&save, "IF", cmd);
        h.alt = (uint8_t)num(&save, "ALT", cmd);
        usbredirparser_send_set_alt_setting(parser, id, &h);
        expect_answer(id);
    } else if (!strcmp(op, "getalt")) {
        struct usb_redir_get_alt_setting_header h = { (uint8_t)num(&save, "IF", cmd) };
        usbredirparser_send_get_alt_setting(parser, id, &h);
    } else if (!strcmp(op, "startiso")) {
        struct usb_redir_start_iso_stream_header h;
        h.endpoint = (uint8_t)num(&save, "EP", cmd);
        h.pkts_per_urb = (uint8_t)num(&save, "PKTS", cmd);
        h.no_urbs = (uint8_t)num(&save, "URBS", cmd);
        usbredirparser_send_start_iso_stream(parser, id, &h);
    } else if (!strcmp(op, "stopiso")) {
        struct usb_redir_stop_iso_stream_header h = { (uint8_t)num(&save, "EP", cmd) };
        usbredirparser_send_stop_iso_stream(parser, id, &h);
    } else if (!strcmp(op, "startint")) {
        struct usb_redir_start_interrupt_receiving_header h = { (uint8_t)num(&save, "EP", cmd) };
        usbredirparser_send_start_interrupt_receiving(parser, id, &h);
    } else if (!strcmp(op, "stopint")) {
        struct usb_redir_stop_interrupt_receiving_header h = { (uint8_t)num(&save, "EP", cmd) };
        usbredirparser_send_stop_interrupt_receiving(parser, id, &h);
    } else if (!strcmp(op, "alloc")) {
        struct usb_redir_alloc_bulk_streams_header h;
        h.endpoints = (uint32_t)num(&save, "EPMASK", cmd);
        h.no_streams = (uint32_t)num(&save, "N", cmd);
        usbredirparser_send_alloc_bulk_streams(parser, id, &h);
    } else if (!strcmp(op, "free")) {
        struct usb_redir_free_bulk_streams_header h = { (uint32_t)num(&save, "EPMASK", cmd) };
        usbredirparser_send_free_bulk_streams(parser, id, &h);
    } else if (!strcmp(op, "startbulk")) {
        struct usb_redir_start_bulk_receiving_header h = { 0 };
        h.endpoint = (uint8_t)num(&save, "EP", cmd);
        h.bytes_per_transfer = (uint32_t)num(&save, "BYTES", cmd);
        h.no_transfers = (uint8_t)num(&save, "N", cmd);
        usbredirparser_send_start_bulk_receiving(parser, id, &h);
    } else if (!strcmp(op, "stopbulk")) {
        struct usb_redir_stop_bulk_receiving_header h = { 0 };
        h.endpoint = (uint8_t)num(&save, "EP", cmd);
        usbredirparser_send_stop_bulk_receiving(parser, id, &h);
    } else if (!strcmp(op, "cancel")) {
        usbredirparser_send_cancel_data_packet(parser, id / 100 * 100 + num(&save, "K", cmd));
    } else if (!strcmp(op, "cancelid")) {
        usbredirparser_send_cancel_data_packet(parser, num(&save, "ID", cmd));
    } else if (!strcmp(op, "reset")) {
        usbredirparser_send_reset(parser);
    } else if (!strcmp(op, "reject")) {
        usbredirparser_send_filter_reject(parser);
    } else if (!strcmp(op, "wait")) {
        flush_writes();
        pump((double)num(&save, "MS", cmd), NULL);
    } else if (!strcmp(op, "waitinfo")) {
        /* until the host sends a new layout (as after a reset that brought back another device), at most MS ms; the
         * commands before it in the step are sent first */
        double ms = (double)num(&save, "MS", cmd);
        flush_writes();
        layout_came = 0;
        pump(ms, &layout_came);
        if (!layout_came)
            add_line(current_step, "no ep_info within %.0f ms", ms);
    } else {
        die("unknown command '%s'", op);
    }
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = 0;
    return s;
}

int main(int argc, char **argv)
{
    uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };
    struct sockaddr_in addr = { .sin_family = AF_INET };
    FILE *script;
    char buf[1024];
    int i, cap, step;

    if (argc != 3)
        die("usage: usbredir_guest_peer PORT SCRIPT");
    if (!(script = fopen(argv[2], "r")))
        die("cannot open %s: %s", argv[2], strerror(errno));
    strcpy(step_names[0], "announce");

    fd = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        die("connect 127.0.0.1:%s: %s", argv[1], strerror(errno));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    parser = usbredirparser_create();
    parser->priv = NULL;
    parser->log_func = on_log;
    parser->read_func = on_read;
    parser->write_func = on_write;
    parser->hello_func = on_hello;
    parser->device_connect_func = on_device_connect;
    parser->device_disconnect_func = on_device_disconnect;
    parser->interface_info_func = on_interface_info;
    parser->ep_info_func = on_ep_info;
    parser->configuration_status_func = on_configuration_status;
    parser->alt_setting_status_func = on_alt_setting_status;
    parser->iso_stream_status_func = on_iso_stream_status;
    parser->interrupt_receiving_status_func = on_interrupt_receiving_status;
    parser->bulk_streams_status_func = on_bulk_streams_status;
    parser->bulk_receiving_status_func = on_bulk_receiving_status;
    parser->control_packet_func = on_control_packet;
    parser->bulk_packet_func = on_bulk_packet;
    parser->iso_packet_func = on_iso_packet;
    parser->interrupt_packet_func = on_interrupt_packet;
    parser->buffered_bulk_packet_func = on_buffered_bulk_packet;
    for (cap = usb_redir_cap_bulk_streams; cap <= usb_redir_cap_bulk_receiving; cap++)
        usbredirparser_caps_set_cap(caps, cap);
    usbredirparser_init(parser, "usbredir_guest_peer", caps, USB_REDIR_CAPS_SIZE, 0);

    pump(30000, &connected);
    if (!connected)
        die("no device_connect within 30 s%s", hung_up ? " (the host closed the connection)" : "");

    for (step = 1; fgets(buf, sizeof(buf), script) && !hung_up;) {
        char *line = trim(buf), *colon, *cmd, *save = NULL;
        int k = 1;
        if (!*line || *line == '#')
            continue;
        if (step == MAX_STEPS)
            die("more than %d steps", MAX_STEPS - 1);
        if (!(colon = strchr(line, ':')))
            die("step without a name: '%s'", line);
        *colon = 0;
        snprintf(step_names[step], sizeof(step_names[step]), "%s", trim(line));
        current_step = step;
        barrier_done = 0;
        for (cmd = strtok_r(colon + 1, ";", &save); cmd; cmd = strtok_r(NULL, ";", &save))
            run_command(trim(cmd), (uint64_t)step * 100 + k++);
        /* The step's transfers first (a later step may depend on them: a clear-halt after a stall), then the barrier. */
        flush_writes();
        pump(20000, &all_answered);
        if (!all_answered && !hung_up)
            add_line(step, "%d data packets not answered within 20 s", outstanding_count);
        outstanding_count = 0;
        all_answered = 1;
        usbredirparser_send_get_configuration(parser, (uint64_t)step * 100 + 99);
        pump(20000, &barrier_done);
        if (!barrier_done && !hung_up) {
            add_line(step, "barrier timeout");
            break;
        }
        step++;
    }
    /* Late completions of any step, then the end. */
    pump(1500, NULL);
    if (hung_up)
        add_line(current_step, "closed");

    /* Within a step: the host's own packets in arrival order, then the answers by id, the barrier's last. Whether a
     * transfer's completion or the barrier's answer comes first, or which of two endpoints' completions, is timing. */
    for (step = 0; step <= current_step; step++) {
        int k;
        for (i = 0; i < line_count; i++)
            if (lines[i].step == step && lines[i].order == 0)
                printf("%s | %s\n", step_names[step], lines[i].text);
        for (k = 1; k <= 99; k++)
            for (i = 0; i < line_count; i++)
                if (lines[i].step == step && lines[i].order == k)
                    printf("%s | %s\n", step_names[step], lines[i].text);
    }
    fflush(stdout);
    return 0;
}
