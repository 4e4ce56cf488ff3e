/*
 * USB 3 bulk streams from a Linux guest, through the kernel's xHCI driver and QEMU's usb-redir, to UsbRedir's
 * StreamsTestDevice (tests/UsbRedir.Tests/Support/StreamsTestDevice.cs): allocates streams on bulk OUT 0x01 and bulk IN
 * 0x81, writes a pattern naming each stream to it, reads every stream back (last first, so a mixed-up stream id shows)
 * and compares, then frees the streams. Prints one "ok ..." line and exits 0, or names what failed and exits 1.
 *
 * Usage: libusb_streams_client VID PID STREAMS   (hex ids)
 */
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EP_OUT 0x01
#define EP_IN 0x81
#define MAX_STREAMS 16
#define TIMEOUT_MS 10000

static int fail(const char *what, int r)
{
    fprintf(stderr, "%s: %s\n", what, r < 0 ? libusb_error_name(r) : "mismatch");
    return 1;
}

static void LIBUSB_CALL done(struct libusb_transfer *t)
{
    *(int *)t->user_data = 1;
}

/* One stream transfer, waited for: libusb has no synchronous call for streams. Returns bytes moved or a libusb error. */
static int stream_transfer(libusb_context *ctx, libusb_device_handle *h, unsigned char ep, uint32_t stream,
                           unsigned char *buf, int len)
{
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    int completed = 0, r;
    if (!t)
        return LIBUSB_ERROR_NO_MEM;
    libusb_fill_bulk_stream_transfer(t, h, ep, stream, buf, len, done, &completed, TIMEOUT_MS);
    r = libusb_submit_transfer(t);
    if (r < 0) {
        libusb_free_transfer(t);
        return r;
    }
    while (!completed) {
        r = libusb_handle_events_completed(ctx, &completed);
        if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED) {
            libusb_cancel_transfer(t);
            while (!completed)
                libusb_handle_events_completed(ctx, &completed);
            libusb_free_transfer(t);
            return r;
        }
    }
    r = t->status == LIBUSB_TRANSFER_COMPLETED ? t->actual_length
        : t->status == LIBUSB_TRANSFER_STALL ? LIBUSB_ERROR_PIPE
        : t->status == LIBUSB_TRANSFER_TIMED_OUT ? LIBUSB_ERROR_TIMEOUT : LIBUSB_ERROR_IO;
    libusb_free_transfer(t);
    return r;
}

static void pattern(unsigned char *buf, uint32_t stream, int len)
{
    for (int i = 0; i < len; i++)
        buf[i] = (unsigned char)(stream * 16 + i);
}

int main(int argc, char **argv)
{
    libusb_context *ctx;
    libusb_device_handle *h;
    unsigned char eps[] = {EP_OUT, EP_IN};
    unsigned char want[512], got[512];
    int streams, r;

    if (argc != 4) {
        fprintf(stderr, "usage: %s VID PID STREAMS\n", argv[0]);
        return 2;
    }
    streams = atoi(argv[3]);
    if (streams < 1 || streams > MAX_STREAMS)
        return fail("STREAMS must be 1-16", 0);
    if ((r = libusb_init(&ctx)) < 0)
        return fail("libusb_init", r);
    h = libusb_open_device_with_vid_pid(ctx, (uint16_t)strtol(argv[1], NULL, 16), (uint16_t)strtol(argv[2], NULL, 16));
    if (!h)
        return fail("open (device not found or no permission)", LIBUSB_ERROR_NO_DEVICE);
    if (libusb_get_device_speed(libusb_get_device(h)) != LIBUSB_SPEED_SUPER)
        return fail("the device is not at SuperSpeed", 0);
    if ((r = libusb_claim_interface(h, 0)) < 0)
        return fail("claim interface 0", r);

    r = libusb_alloc_streams(h, (uint32_t)streams, eps, 2);
    if (r < 0)
        return fail("libusb_alloc_streams", r);
    if (r != streams) {
        fprintf(stderr, "libusb_alloc_streams granted %d of %d streams\n", r, streams);
        return 1;
    }
    for (uint32_t s = 1; s <= (uint32_t)streams; s++) {
        pattern(want, s, (int)(s * 10));
        if ((r = stream_transfer(ctx, h, EP_OUT, s, want, (int)(s * 10))) != (int)(s * 10))
            return fail("bulk OUT on a stream", r);
    }
    for (uint32_t s = (uint32_t)streams; s >= 1; s--) {
        pattern(want, s, (int)(s * 10));
        memset(got, 0, sizeof got);
        if ((r = stream_transfer(ctx, h, EP_IN, s, got, sizeof got)) != (int)(s * 10)) {
            fprintf(stderr, "stream %u: read %d bytes, expected %u\n", s, r, s * 10);
            return 1;
        }
        if (memcmp(want, got, s * 10) != 0) {
            fprintf(stderr, "stream %u: data of another stream came back\n", s);
            return 1;
        }
    }
    if ((r = libusb_free_streams(h, eps, 2)) < 0)
        return fail("libusb_free_streams", r);
    printf("ok %d streams round-tripped\n", streams);
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    return 0;
}
