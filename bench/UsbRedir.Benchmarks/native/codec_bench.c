/* libusbredirparser baseline for bench/UsbRedir.Benchmarks (CodecBenchmark.cs): parses or serializes the same byte
 * stream the C# codec does, timing whole passes, and prints "passes=<n> packets=<n> bytes=<n> ns=<n>".
 *
 *   codec_bench parse <h|g> <caps> <stream file> <seconds>
 *        Each pass creates a parser of that role and reads the whole file through it (the read callback copies from
 *        memory, as it would from a socket buffer); the data callbacks free the payload.
 *   codec_bench serialize <h|g> <caps> <peer caps> <bulk|control> <packets> <stream file> <seconds>
 *        One parser, past the peer's hello, sends <packets> 64 KiB bulk IN completions (host) or GET_DESCRIPTOR
 *        control requests (guest) per pass, each written out at once; the first pass's bytes must equal the file.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <usbredirparser.h>

static struct usbredirparser *parser;
static const uint8_t *in_buf;
static size_t in_len, in_pos;
static uint8_t *check_buf;
static size_t check_len, out_pos;
static int checking;
static long long packets, out_bytes;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "codec_bench: %s\n", what);
    exit(2);
}

static void log_cb(void *priv, int level, const char *msg)
{
    (void)priv;
    if (level <= usbredirparser_error)
        fprintf(stderr, "codec_bench: parser: %s\n", msg);
}

static int read_cb(void *priv, uint8_t *data, int count)
{
    size_t n = in_len - in_pos < (size_t)count ? in_len - in_pos : (size_t)count;
    (void)priv;
    memcpy(data, in_buf + in_pos, n);
    in_pos += n;
    return (int)n;
}

static int write_cb(void *priv, uint8_t *data, int count)
{
    (void)priv;
    if (checking) {
        if (out_pos + (size_t)count > check_len || memcmp(check_buf + out_pos, data, (size_t)count) != 0)
            fail("serialized bytes differ from the C# codec's stream");
        out_pos += (size_t)count;
    }
    out_bytes += count;
    return count;
}

static void hello_cb(void *priv, struct usb_redir_hello_header *h) { (void)priv; (void)h; }

static void control_cb(void *priv, uint64_t id, struct usb_redir_control_packet_header *h, uint8_t *data, int len)
{
    (void)priv; (void)id; (void)h; (void)len;
    packets++;
    usbredirparser_free_packet_data(parser, data);
}

static void bulk_cb(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h, uint8_t *data, int len)
{
    (void)priv; (void)id; (void)h; (void)len;
    packets++;
    usbredirparser_free_packet_data(parser, data);
}

static void make_parser(const char *role, uint32_t caps)
{
    parser = usbredirparser_create();
    if (!parser)
        fail("usbredirparser_create failed");
    parser->log_func = log_cb;
    parser->read_func = read_cb;
    parser->write_func = write_cb;
    parser->hello_func = hello_cb;
    parser->control_packet_func = control_cb;
    parser->bulk_packet_func = bulk_cb;
    usbredirparser_init(parser, "bench", &caps, 1, strcmp(role, "h") == 0 ? usbredirparser_fl_usb_host : 0);
}

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    if (!f)
        fail("cannot open the stream file");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc(*len ? *len : 1);
    if (!b || fread(b, 1, *len, f) != *len)
        fail("cannot read the stream file");
    fclose(f);
    return b;
}

static void parse(char **argv)
{
    uint32_t caps = strtoul(argv[1], NULL, 10);
    double seconds = atof(argv[3]);
    long long start = now_ns(), passes = 0, total_packets = 0;
    size_t len;
    uint8_t *stream = load(argv[2], &len);

    do {
        make_parser(argv[0], caps);
        in_buf = stream; in_len = len; in_pos = 0;
        packets = 0;
        while (in_pos < in_len)
            if (usbredirparser_do_read(parser) != 0)
                fail("do_read failed on the benchmark stream");
        usbredirparser_destroy(parser);
        passes++;
        total_packets += packets;
    } while (now_ns() - start < (long long)(seconds * 1e9));
    printf("passes=%lld packets=%lld bytes=%lld ns=%lld\n", passes, total_packets, passes * (long long)len, now_ns() - start);
}

static void serialize(char **argv)
{
    uint32_t caps = strtoul(argv[1], NULL, 10), peer_caps = strtoul(argv[2], NULL, 10);
    int bulk = strcmp(argv[3], "bulk") == 0;
    long long count = atoll(argv[4]), passes = 0, start, elapsed = 0, i;
    double seconds = atof(argv[6]);
    static uint8_t payload[65536];
    uint8_t hello[12 + 64 + 4] = { usb_redir_hello, 0, 0, 0, 68 };

    for (i = 0; i < (long long)sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    check_buf = load(argv[5], &check_len);
    make_parser(argv[0], caps);
    memcpy(hello + 12, "peer", 4);
    memcpy(hello + 76, &peer_caps, 4);
    in_buf = hello; in_len = sizeof(hello); in_pos = 0;
    if (usbredirparser_do_read(parser) != 0)
        fail("the peer hello was refused");
    checking = 1;
    while (usbredirparser_has_data_to_write(parser))
        usbredirparser_do_write(parser); /* our hello: part of the checked stream */
    out_bytes = 0;
    do {
        start = now_ns();
        for (i = 0; i < count; i++) {
            if (bulk) {
                struct usb_redir_bulk_packet_header h = { 0x81, usb_redir_success, 0, 0, 1 };
                usbredirparser_send_bulk_packet(parser, (uint64_t)i, &h, payload, sizeof(payload));
            } else {
                struct usb_redir_control_packet_header h = { 0x80, 6, 0x80, 0, 0x0100, 0, 18 };
                usbredirparser_send_control_packet(parser, (uint64_t)i, &h, NULL, 0);
            }
            usbredirparser_do_write(parser);
        }
        elapsed += now_ns() - start;
        if (checking && out_pos != check_len)
            fail("the serialized stream is shorter than the C# codec's");
        checking = 0;
        passes++;
    } while (elapsed < (long long)(seconds * 1e9));
    usbredirparser_destroy(parser);
    printf("passes=%lld packets=%lld bytes=%lld ns=%lld\n", passes, passes * count, out_bytes, elapsed);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "parse") == 0)
        parse(argv + 2);
    else if (argc == 9 && strcmp(argv[1], "serialize") == 0)
        serialize(argv + 2);
    else
        fail("usage: codec_bench parse <h|g> <caps> <file> <seconds> | serialize <h|g> <caps> <peer caps> <bulk|control> <packets> <file> <seconds>");
    return 0;
}
