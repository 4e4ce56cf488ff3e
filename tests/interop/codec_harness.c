/* Differential-test peer for src/UsbRedir.Core/Protocol: encodes and decodes usbredir streams with Debian's
 * libusbredirparser, one command per stdin line, one result line per command on stdout.
 *
 * Packets travel as text tokens "type:id:field:...", numbers in decimal and byte blobs in lowercase hex (possibly
 * empty). The fields are those of the C header struct in wire order, but only the ones the negotiated capabilities
 * put on the wire (device_connect's bcd, ep_info's max_packet_size and max_streams); bulk_packet carries the combined
 * 32-bit length. Data packets end with their payload; filter_filter carries the rule string (no NUL); hello prints
 * as "0:0:<peer caps>:<version>".
 *
 *   E <h|g> <caps> <peer caps> <version hex> <packet>...
 *        A parser with role h (usb-host) or g (usb-guest) and <caps> reads a peer hello carrying <peer caps>, then
 *        sends the packets with the usbredirparser_send_* functions. (24, device_disconnect_ack, has no send function:
 *        the guest parser queues it itself after a device_disconnect, so one is fed to it.)
 *        -> hex of every byte the parser wrote, its own hello first.
 *   D <h|g> <caps> <chunk sizes, comma-separated, cycled> <stream hex>
 *        A parser reads the stream, handed out by the read callback in chunks of the given sizes, each chunk through
 *        its own usbredirparser_do_read call, so packets split at those points.
 *        -> the received packets as tokens, with "!" for every parse error (do_read returned -2).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usbredirfilter.h>
#include <usbredirparser.h>

/* ---- growable byte / text buffers ---- */

struct buf {
    uint8_t *data;
    size_t len, cap;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->data = realloc(b->data, b->cap);
        if (!b->data) {
            fprintf(stderr, "codec_harness: out of memory\n");
            exit(2);
        }
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    buf_put(b, tmp, (size_t)n);
}

static void buf_hex(struct buf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        char two[2] = { digits[p[i] >> 4], digits[p[i] & 15] };
        buf_put(b, two, 2);
    }
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "codec_harness: %s '%s'\n", what, detail ? detail : "");
    exit(2);
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Hand-rolled: sscanf would rescan the whole (up to 300 MB) string for every byte. */
static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t len = strlen(h), n = len / 2, i;
    if (len % 2 || n > max)
        die("bad hex field", h);
    for (i = 0; i < n; i++) {
        int hi = nibble(h[2 * i]), lo = nibble(h[2 * i + 1]);
        if (hi < 0 || lo < 0)
            die("bad hex field", h);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

/* ---- harness state shared with the callbacks ---- */

static struct usbredirparser *parser;
static struct buf output;     /* E: bytes written; D: result tokens */
static const uint8_t *feed;   /* bytes the read callback hands out */
static size_t feed_len, feed_pos, chunk_left;
static int printing;          /* D mode: callbacks append tokens */

static int negotiated(int cap)
{
    return usbredirparser_have_cap(parser, cap) && usbredirparser_peer_has_cap(parser, cap);
}

static void token_start(int type, uint64_t id)
{
    if (output.len)
        buf_put(&output, " ", 1);
    buf_printf(&output, "%d:%" PRIu64, type, id);
}

static void field(unsigned long long v) { buf_printf(&output, ":%llu", v); }

static void field_hex(const void *p, size_t n)
{
    buf_put(&output, ":", 1);
    buf_hex(&output, p, n);
}

/* ---- callbacks: print what arrived (D) or ignore it (E) ---- */

static void log_cb(void *priv, int level, const char *msg) { (void)priv; (void)level; (void)msg; }

static int read_cb(void *priv, uint8_t *data, int count)
{
    size_t n = (size_t)count;
    (void)priv;
    if (n > chunk_left)
        n = chunk_left;
    if (n > feed_len - feed_pos)
        n = feed_len - feed_pos;
    memcpy(data, feed + feed_pos, n);
    feed_pos += n;
    chunk_left -= n;
    return (int)n;
}

static int write_cb(void *priv, uint8_t *data, int count)
{
    (void)priv;
    buf_put(&output, data, (size_t)count);
    return count;
}

static void hello_cb(void *priv, struct usb_redir_hello_header *h)
{
    uint32_t caps = 0;
    int i;
    (void)priv;
    if (!printing)
        return;
    for (i = 0; i < 32; i++)
        if (usbredirparser_peer_has_cap(parser, i))
            caps |= 1u << i;
    token_start(usb_redir_hello, 0);
    field(caps);
    field_hex(h->version, strlen(h->version));
}

static void device_connect_cb(void *priv, struct usb_redir_device_connect_header *h)
{
    (void)priv;
    if (!printing)
        return;
    token_start(usb_redir_device_connect, 0);
    field(h->speed); field(h->device_class); field(h->device_subclass); field(h->device_protocol);
    field(h->vendor_id); field(h->product_id);
    if (negotiated(usb_redir_cap_connect_device_version))
        field(h->device_version_bcd);
}

static void no_header_cb(int type, uint64_t id)
{
    if (printing)
        token_start(type, id);
}

static void device_disconnect_cb(void *priv) { (void)priv; no_header_cb(usb_redir_device_disconnect, 0); }
static void reset_cb(void *priv) { (void)priv; no_header_cb(usb_redir_reset, 0); }
static void filter_reject_cb(void *priv) { (void)priv; no_header_cb(usb_redir_filter_reject, 0); }
static void disconnect_ack_cb(void *priv) { (void)priv; no_header_cb(usb_redir_device_disconnect_ack, 0); }
static void get_configuration_cb(void *priv, uint64_t id) { (void)priv; no_header_cb(usb_redir_get_configuration, id); }
static void cancel_cb(void *priv, uint64_t id) { (void)priv; no_header_cb(usb_redir_cancel_data_packet, id); }

static void interface_info_cb(void *priv, struct usb_redir_interface_info_header *h)
{
    (void)priv;
    if (!printing)
        return;
    token_start(usb_redir_interface_info, 0);
    field(h->interface_count);
    field_hex(h->interface, 32); field_hex(h->interface_class, 32);
    field_hex(h->interface_subclass, 32); field_hex(h->interface_protocol, 32);
}

static void ep_info_cb(void *priv, struct usb_redir_ep_info_header *h)
{
    (void)priv;
    if (!printing)
        return;
    token_start(usb_redir_ep_info, 0);
    field_hex(h->type, 32); field_hex(h->interval, 32); field_hex(h->interface, 32);
    if (negotiated(usb_redir_cap_ep_info_max_packet_size))
        field_hex(h->max_packet_size, sizeof(h->max_packet_size)); /* little-endian machine: wire order */
    if (negotiated(usb_redir_cap_bulk_streams))
        field_hex(h->max_streams, sizeof(h->max_streams));
}

/* Type headers made only of u8/u32 fields in wire order print with one generic helper each. */
#define CB1(name, type_no, a) \
    static void name##_cb(void *priv, uint64_t id, struct usb_redir_##name##_header *h) \
    { (void)priv; if (!printing) return; token_start(type_no, id); field(h->a); }
#define CB2(name, type_no, a, b) \
    static void name##_cb(void *priv, uint64_t id, struct usb_redir_##name##_header *h) \
    { (void)priv; if (!printing) return; token_start(type_no, id); field(h->a); field(h->b); }
#define CB3(name, type_no, a, b, c) \
    static void name##_cb(void *priv, uint64_t id, struct usb_redir_##name##_header *h) \
    { (void)priv; if (!printing) return; token_start(type_no, id); field(h->a); field(h->b); field(h->c); }
#define CB4(name, type_no, a, b, c, d) \
    static void name##_cb(void *priv, uint64_t id, struct usb_redir_##name##_header *h) \
    { (void)priv; if (!printing) return; token_start(type_no, id); field(h->a); field(h->b); field(h->c); field(h->d); }

CB1(set_configuration, usb_redir_set_configuration, configuration)
CB2(configuration_status, usb_redir_configuration_status, status, configuration)
CB2(set_alt_setting, usb_redir_set_alt_setting, interface, alt)
CB1(get_alt_setting, usb_redir_get_alt_setting, interface)
CB3(alt_setting_status, usb_redir_alt_setting_status, status, interface, alt)
CB3(start_iso_stream, usb_redir_start_iso_stream, endpoint, pkts_per_urb, no_urbs)
CB1(stop_iso_stream, usb_redir_stop_iso_stream, endpoint)
CB2(iso_stream_status, usb_redir_iso_stream_status, status, endpoint)
CB1(start_interrupt_receiving, usb_redir_start_interrupt_receiving, endpoint)
CB1(stop_interrupt_receiving, usb_redir_stop_interrupt_receiving, endpoint)
CB2(interrupt_receiving_status, usb_redir_interrupt_receiving_status, status, endpoint)
CB2(alloc_bulk_streams, usb_redir_alloc_bulk_streams, endpoints, no_streams)
CB1(free_bulk_streams, usb_redir_free_bulk_streams, endpoints)
CB3(bulk_streams_status, usb_redir_bulk_streams_status, endpoints, no_streams, status)
CB4(start_bulk_receiving, usb_redir_start_bulk_receiving, stream_id, bytes_per_transfer, endpoint, no_transfers)
CB2(stop_bulk_receiving, usb_redir_stop_bulk_receiving, stream_id, endpoint)
CB3(bulk_receiving_status, usb_redir_bulk_receiving_status, stream_id, endpoint, status)

static void filter_filter_cb(void *priv, struct usbredirfilter_rule *rules, int count)
{
    (void)priv;
    if (printing) {
        char *s = usbredirfilter_rules_to_string(rules, count, ",", "|");
        token_start(usb_redir_filter_filter, 0);
        field_hex(s ? s : "", s ? strlen(s) : 0);
        free(s);
    }
    free(rules);
}

static void data_end(uint8_t *data, int len)
{
    if (printing)
        field_hex(data, (size_t)len);
    usbredirparser_free_packet_data(parser, data);
}

static void control_packet_cb(void *priv, uint64_t id, struct usb_redir_control_packet_header *h, uint8_t *data, int len)
{
    (void)priv;
    if (printing) {
        token_start(usb_redir_control_packet, id);
        field(h->endpoint); field(h->request); field(h->requesttype); field(h->status);
        field(h->value); field(h->index); field(h->length);
    }
    data_end(data, len);
}

static void bulk_packet_cb(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h, uint8_t *data, int len)
{
    (void)priv;
    if (printing) {
        token_start(usb_redir_bulk_packet, id);
        field(h->endpoint); field(h->status);
        field(((uint32_t)h->length_high << 16) | h->length);
        field(h->stream_id);
    }
    data_end(data, len);
}

static void iso_packet_cb(void *priv, uint64_t id, struct usb_redir_iso_packet_header *h, uint8_t *data, int len)
{
    (void)priv;
    if (printing) {
        token_start(usb_redir_iso_packet, id);
        field(h->endpoint); field(h->status); field(h->length);
    }
    data_end(data, len);
}

static void interrupt_packet_cb(void *priv, uint64_t id, struct usb_redir_interrupt_packet_header *h, uint8_t *data, int len)
{
    (void)priv;
    if (printing) {
        token_start(usb_redir_interrupt_packet, id);
        field(h->endpoint); field(h->status); field(h->length);
    }
    data_end(data, len);
}

static void buffered_bulk_packet_cb(void *priv, uint64_t id, struct usb_redir_buffered_bulk_packet_header *h,
                                    uint8_t *data, int len)
{
    (void)priv;
    if (printing) {
        token_start(usb_redir_buffered_bulk_packet, id);
        field(h->stream_id); field(h->length); field(h->endpoint); field(h->status);
    }
    data_end(data, len);
}

static void make_parser(const char *role, uint32_t caps, const char *version)
{
    parser = usbredirparser_create();
    if (!parser)
        die("usbredirparser_create failed", NULL);
    parser->log_func = log_cb;
    parser->read_func = read_cb;
    parser->write_func = write_cb;
    parser->hello_func = hello_cb;
    parser->device_connect_func = device_connect_cb;
    parser->device_disconnect_func = device_disconnect_cb;
    parser->reset_func = reset_cb;
    parser->interface_info_func = interface_info_cb;
    parser->ep_info_func = ep_info_cb;
    parser->set_configuration_func = set_configuration_cb;
    parser->get_configuration_func = get_configuration_cb;
    parser->configuration_status_func = configuration_status_cb;
    parser->set_alt_setting_func = set_alt_setting_cb;
    parser->get_alt_setting_func = get_alt_setting_cb;
    parser->alt_setting_status_func = alt_setting_status_cb;
    parser->start_iso_stream_func = start_iso_stream_cb;
    parser->stop_iso_stream_func = stop_iso_stream_cb;
    parser->iso_stream_status_func = iso_stream_status_cb;
    parser->start_interrupt_receiving_func = start_interrupt_receiving_cb;
    parser->stop_interrupt_receiving_func = stop_interrupt_receiving_cb;
    parser->interrupt_receiving_status_func = interrupt_receiving_status_cb;
    parser->alloc_bulk_streams_func = alloc_bulk_streams_cb;
    parser->free_bulk_streams_func = free_bulk_streams_cb;
    parser->bulk_streams_status_func = bulk_streams_status_cb;
    parser->cancel_data_packet_func = cancel_cb;
    parser->filter_reject_func = filter_reject_cb;
    parser->filter_filter_func = filter_filter_cb;
    parser->device_disconnect_ack_func = disconnect_ack_cb;
    parser->start_bulk_receiving_func = start_bulk_receiving_cb;
    parser->stop_bulk_receiving_func = stop_bulk_receiving_cb;
    parser->bulk_receiving_status_func = bulk_receiving_status_cb;
    parser->control_packet_func = control_packet_cb;
    parser->bulk_packet_func = bulk_packet_cb;
    parser->iso_packet_func = iso_packet_cb;
    parser->interrupt_packet_func = interrupt_packet_cb;
    parser->buffered_bulk_packet_func = buffered_bulk_packet_cb;
    usbredirparser_init(parser, version, &caps, 1, strcmp(role, "h") == 0 ? usbredirparser_fl_usb_host : 0);
}

/* Hands bytes to the parser in one do_read call (E mode's synthetic input). */
static void read_all(const uint8_t *p, size_t n)
{
    feed = p; feed_len = n; feed_pos = 0; chunk_left = n;
    if (usbredirparser_do_read(parser) != 0)
        die("synthetic input was refused", NULL);
}

/* ---- E: encode ---- */

static char *next(char **cursor, const char *token)
{
    char *f = strsep(cursor, ":");
    if (!f)
        die("packet token has too few fields", token);
    return f;
}

static unsigned long long num(char **cursor, const char *token) { return strtoull(next(cursor, token), NULL, 10); }

static void send_packet(char *token)
{
    static uint8_t data[140 * 1024 * 1024];
    char copy[128];
    char *cursor = token;
    int type, len;
    uint64_t id;
    snprintf(copy, sizeof(copy), "%s", token); /* for messages: strsep cuts the token up */
    type = (int)num(&cursor, copy);
    id = num(&cursor, copy);

    switch (type) {
    case usb_redir_device_connect: {
        struct usb_redir_device_connect_header h = {0};
        h.speed = num(&cursor, copy); h.device_class = num(&cursor, copy); h.device_subclass = num(&cursor, copy);
        h.device_protocol = num(&cursor, copy); h.vendor_id = num(&cursor, copy); h.product_id = num(&cursor, copy);
        if (cursor)
            h.device_version_bcd = num(&cursor, copy);
        usbredirparser_send_device_connect(parser, &h);
        break;
    }
    case usb_redir_device_disconnect: usbredirparser_send_device_disconnect(parser); break;
    case usb_redir_reset: usbredirparser_send_reset(parser); break;
    case usb_redir_interface_info: {
        struct usb_redir_interface_info_header h = {0};
        h.interface_count = num(&cursor, copy);
        unhex(next(&cursor, copy), h.interface, 32); unhex(next(&cursor, copy), h.interface_class, 32);
        unhex(next(&cursor, copy), h.interface_subclass, 32); unhex(next(&cursor, copy), h.interface_protocol, 32);
        usbredirparser_send_interface_info(parser, &h);
        break;
    }
    case usb_redir_ep_info: {
        struct usb_redir_ep_info_header h = {0};
        unhex(next(&cursor, copy), h.type, 32); unhex(next(&cursor, copy), h.interval, 32);
        unhex(next(&cursor, copy), h.interface, 32);
        if (cursor)
            unhex(next(&cursor, copy), (uint8_t *)h.max_packet_size, sizeof(h.max_packet_size));
        if (cursor)
            unhex(next(&cursor, copy), (uint8_t *)h.max_streams, sizeof(h.max_streams));
        usbredirparser_send_ep_info(parser, &h);
        break;
    }
    case usb_redir_set_configuration: {
        struct usb_redir_set_configuration_header h = { num(&cursor, copy) };
        usbredirparser_send_set_configuration(parser, id, &h);
        break;
    }
    case usb_redir_get_configuration: usbredirparser_send_get_configuration(parser, id); break;
    case usb_redir_configuration_status: {
        struct usb_redir_configuration_status_header h;
        h.status = num(&cursor, copy); h.configuration = num(&cursor, copy);
        usbredirparser_send_configuration_status(parser, id, &h);
        break;
    }
    case usb_redir_set_alt_setting: {
        struct usb_redir_set_alt_setting_header h;
        h.interface = num(&cursor, copy); h.alt = num(&cursor, copy);
        usbredirparser_send_set_alt_setting(parser, id, &h);
        break;
    }
    case usb_redir_get_alt_setting: {
        struct usb_redir_get_alt_setting_header h = { num(&cursor, copy) };
        usbredirparser_send_get_alt_setting(parser, id, &h);
        break;
    }
    case usb_redir_alt_setting_status: {
        struct usb_redir_alt_setting_status_header h;
        h.status = num(&cursor, copy); h.interface = num(&cursor, copy); h.alt = num(&cursor, copy);
        usbredirparser_send_alt_setting_status(parser, id, &h);
        break;
    }
    case usb_redir_start_iso_stream: {
        struct usb_redir_start_iso_stream_header h;
        h.endpoint = num(&cursor, copy); h.pkts_per_urb = num(&cursor, copy); h.no_urbs = num(&cursor, copy);
        usbredirparser_send_start_iso_stream(parser, id, &h);
        break;
    }
    case usb_redir_stop_iso_stream: {
        struct usb_redir_stop_iso_stream_header h = { num(&cursor, copy) };
        usbredirparser_send_stop_iso_stream(parser, id, &h);
        break;
    }
    case usb_redir_iso_stream_status: {
        struct usb_redir_iso_stream_status_header h;
        h.status = num(&cursor, copy); h.endpoint = num(&cursor, copy);
        usbredirparser_send_iso_stream_status(parser, id, &h);
        break;
    }
    case usb_redir_start_interrupt_receiving: {
        struct usb_redir_start_interrupt_receiving_header h = { num(&cursor, copy) };
        usbredirparser_send_start_interrupt_receiving(parser, id, &h);
        break;
    }
    case usb_redir_stop_interrupt_receiving: {
        struct usb_redir_stop_interrupt_receiving_header h = { num(&cursor, copy) };
        usbredirparser_send_stop_interrupt_receiving(parser, id, &h);
        break;
    }
    case usb_redir_interrupt_receiving_status: {
        struct usb_redir_interrupt_receiving_status_header h;
        h.status = num(&cursor, copy); h.endpoint = num(&cursor, copy);
        usbredirparser_send_interrupt_receiving_status(parser, id, &h);
        break;
    }
    case usb_redir_alloc_bulk_streams: {
        struct usb_redir_alloc_bulk_streams_header h;
        h.endpoints = num(&cursor, copy); h.no_streams = num(&cursor, copy);
        usbredirparser_send_alloc_bulk_streams(parser, id, &h);
        break;
    }
    case usb_redir_free_bulk_streams: {
        struct usb_redir_free_bulk_streams_header h = { num(&cursor, copy) };
        usbredirparser_send_free_bulk_streams(parser, id, &h);
        break;
    }
    case usb_redir_bulk_streams_status: {
        struct usb_redir_bulk_streams_status_header h;
        h.endpoints = num(&cursor, copy); h.no_streams = num(&cursor, copy); h.status = num(&cursor, copy);
        usbredirparser_send_bulk_streams_status(parser, id, &h);
        break;
    }
    case usb_redir_cancel_data_packet: usbredirparser_send_cancel_data_packet(parser, id); break;
    case usb_redir_filter_reject: usbredirparser_send_filter_reject(parser); break;
    case usb_redir_filter_filter: {
        struct usbredirfilter_rule *rules;
        int count;
        len = (int)unhex(next(&cursor, copy), data, sizeof(data) - 1);
        data[len] = 0;
        if (usbredirfilter_string_to_rules((char *)data, ",", "|", &rules, &count) != 0)
            die("filter string does not parse", (char *)data);
        usbredirparser_send_filter_filter(parser, rules, count);
        free(rules);
        break;
    }
    case usb_redir_device_disconnect_ack: {
        /* Feed a device_disconnect; the guest parser answers it with the ack by itself. */
        uint8_t hdr[16] = { usb_redir_device_disconnect };
        read_all(hdr, negotiated(usb_redir_cap_64bits_ids) ? 16 : 12);
        break;
    }
    case usb_redir_start_bulk_receiving: {
        struct usb_redir_start_bulk_receiving_header h;
        h.stream_id = num(&cursor, copy); h.bytes_per_transfer = num(&cursor, copy);
        h.endpoint = num(&cursor, copy); h.no_transfers = num(&cursor, copy);
        usbredirparser_send_start_bulk_receiving(parser, id, &h);
        break;
    }
    case usb_redir_stop_bulk_receiving: {
        struct usb_redir_stop_bulk_receiving_header h;
        h.stream_id = num(&cursor, copy); h.endpoint = num(&cursor, copy);
        usbredirparser_send_stop_bulk_receiving(parser, id, &h);
        break;
    }
    case usb_redir_bulk_receiving_status: {
        struct usb_redir_bulk_receiving_status_header h;
        h.stream_id = num(&cursor, copy); h.endpoint = num(&cursor, copy); h.status = num(&cursor, copy);
        usbredirparser_send_bulk_receiving_status(parser, id, &h);
        break;
    }
    case usb_redir_control_packet: {
        struct usb_redir_control_packet_header h;
        h.endpoint = num(&cursor, copy); h.request = num(&cursor, copy); h.requesttype = num(&cursor, copy);
        h.status = num(&cursor, copy); h.value = num(&cursor, copy); h.index = num(&cursor, copy);
        h.length = num(&cursor, copy);
        len = (int)unhex(next(&cursor, copy), data, sizeof(data));
        usbredirparser_send_control_packet(parser, id, &h, len ? data : NULL, len);
        break;
    }
    case usb_redir_bulk_packet: {
        struct usb_redir_bulk_packet_header h;
        uint32_t length;
        h.endpoint = num(&cursor, copy); h.status = num(&cursor, copy);
        length = num(&cursor, copy);
        h.length = (uint16_t)length; h.length_high = (uint16_t)(length >> 16);
        h.stream_id = num(&cursor, copy);
        len = (int)unhex(next(&cursor, copy), data, sizeof(data));
        usbredirparser_send_bulk_packet(parser, id, &h, len ? data : NULL, len);
        break;
    }
    case usb_redir_iso_packet: {
        struct usb_redir_iso_packet_header h;
        h.endpoint = num(&cursor, copy); h.status = num(&cursor, copy); h.length = num(&cursor, copy);
        len = (int)unhex(next(&cursor, copy), data, sizeof(data));
        usbredirparser_send_iso_packet(parser, id, &h, len ? data : NULL, len);
        break;
    }
    case usb_redir_interrupt_packet: {
        struct usb_redir_interrupt_packet_header h;
        h.endpoint = num(&cursor, copy); h.status = num(&cursor, copy); h.length = num(&cursor, copy);
        len = (int)unhex(next(&cursor, copy), data, sizeof(data));
        usbredirparser_send_interrupt_packet(parser, id, &h, len ? data : NULL, len);
        break;
    }
    case usb_redir_buffered_bulk_packet: {
        struct usb_redir_buffered_bulk_packet_header h;
        h.stream_id = num(&cursor, copy); h.length = num(&cursor, copy);
        h.endpoint = num(&cursor, copy); h.status = num(&cursor, copy);
        len = (int)unhex(next(&cursor, copy), data, sizeof(data));
        usbredirparser_send_buffered_bulk_packet(parser, id, &h, len ? data : NULL, len);
        break;
    }
    default:
        die("cannot send packet type", copy);
    }
}

static void encode(char *cursor)
{
    char *role = strsep(&cursor, " ");
    uint32_t caps = strtoul(strsep(&cursor, " "), NULL, 10);
    uint32_t peer_caps = strtoul(strsep(&cursor, " "), NULL, 10);
    char *version_hex = strsep(&cursor, " ");
    char version[257] = {0};
    uint8_t hello[12 + 64 + 4] = { usb_redir_hello, 0, 0, 0, 68 };
    char *token;

    if (!role || !version_hex)
        die("incomplete E command", NULL);
    unhex(version_hex, (uint8_t *)version, 256);
    printing = 0;
    make_parser(role, caps, version);
    memcpy(hello + 12, "peer", 4);
    memcpy(hello + 76, &peer_caps, 4);
    read_all(hello, sizeof(hello));
    while ((token = strsep(&cursor, " ")) != NULL)
        if (*token)
            send_packet(token);
    while (usbredirparser_has_data_to_write(parser))
        if (usbredirparser_do_write(parser) != 0)
            die("do_write failed", NULL);
}

/* ---- D: decode ---- */

static void decode(char *cursor)
{
    char *role = strsep(&cursor, " ");
    uint32_t caps = strtoul(strsep(&cursor, " "), NULL, 10);
    char *chunks = strsep(&cursor, " ");
    char *hex = strsep(&cursor, " ");
    size_t sizes[4096], nsizes = 0, i = 0;
    uint8_t *stream;
    size_t n;
    char *c;

    if (!role || !chunks || !hex)
        die("incomplete D command", NULL);
    while ((c = strsep(&chunks, ",")) != NULL && nsizes < 4096)
        if ((sizes[nsizes] = strtoul(c, NULL, 10)) > 0)
            nsizes++;
    if (!nsizes)
        die("no chunk sizes", NULL);
    stream = malloc(strlen(hex) / 2 + 1);
    n = unhex(hex, stream, strlen(hex) / 2);
    printing = 1;
    make_parser(role, caps, "harness");
    feed = stream; feed_len = n; feed_pos = 0;
    while (feed_pos < feed_len) {
        int r;
        chunk_left = sizes[i++ % nsizes];
        /* do_read keeps reading until the callback returns 0 (end of this chunk) or a packet fails to parse. */
        while ((r = usbredirparser_do_read(parser)) == usbredirparser_read_parse_error) {
            if (output.len)
                buf_put(&output, " ", 1);
            buf_put(&output, "!", 1);
        }
        if (r != 0)
            die("do_read failed", NULL);
    }
    free(stream);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *cursor = line;
        char *cmd;
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        cmd = strsep(&cursor, " ");
        output.len = 0;
        if (strcmp(cmd, "E") == 0) {
            encode(cursor);
            {
                struct buf hex = {0};
                buf_hex(&hex, output.data, output.len);
                fwrite(hex.data, 1, hex.len, stdout);
                free(hex.data);
            }
        } else if (strcmp(cmd, "D") == 0) {
            decode(cursor);
            fwrite(output.data, 1, output.len, stdout);
        } else {
            die("unknown command", cmd);
        }
        fputc('\n', stdout);
        fflush(stdout);
        usbredirparser_destroy(parser);
        parser = NULL;
    }
    free(line);
    return 0;
}
