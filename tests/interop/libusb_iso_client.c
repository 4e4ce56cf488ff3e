/*
 * Guest side of the QEMU iso test: drives the UsbRedir iso test device (tests/UsbRedir.Tests/Support/IsoTestDevice.cs)
 * through the guest kernel's usbfs with libusb, as an audio or video application would.
 *
 *   libusb_iso_client VID PID IN_PACKETS OUT_PACKETS OUT_FLUSH [BUSNUM DEVNUM [OUT_FIRST]]
 *
 * Opens VID:PID (waiting for it to enumerate; with BUSNUM DEVNUM, as sysfs numbers them, only that one: another process
 * may hold a device with the same ids, as an exporter holds the original of a redirected copy), claims interface 0 and selects alt 1, then
 *  - IN: keeps iso transfers queued on 0x81 until IN_PACKETS packets with data arrived. Each must carry its 32-bit
 *    sequence number, the pattern derived from it and the length the device gives that number; numbers must rise.
 *    Empty packets (QEMU prefilling its buffer, or an underrun) are counted, not errors; skipped numbers are counted
 *    as gaps (packets dropped on the way).
 *  - OUT: sends OUT_PACKETS + OUT_FLUSH packets on 0x02, packet n carrying n and its pattern, lengths varying. The
 *    OUT_FLUSH extra packets push the counted ones through the host's buffering; losing some of them at the end is
 *    expected (the host holds up to a ring of packets when the stream stops). With OUT_FIRST the numbers start there instead
 *    of at 0 (a warm-up run whose packets the device's record can tell from the counted run's).
 * Prints one summary line per direction and exits 0 when no IN packet was wrong and every transfer completed.
 * The packet formulas must match IsoTestDevice.InPacket and QemuIsoPeerTests.OutPacket.
 */
#include <libusb-1.0/libusb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MPS 192
#define PACKETS_PER_TRANSFER 8
#define TRANSFERS 4

static int in_wanted, in_data, in_empty, in_gaps, in_bad, in_errors;
static int64_t in_last = -1;
static uint32_t in_first;
static int out_first, out_total, out_next, out_completed, out_errors;
static int active;

static int in_length(uint32_t seq) { return 4 + (int)(seq * 37u % (MPS - 3)); }
static int out_length(uint32_t n) { return 4 + (int)(n * 53u % (MPS - 3)); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_in_packet(const unsigned char *p, int len)
{
    if (len == 0) {
        in_empty++;
        return;
    }
    if (len < 4) {
        in_bad++;
        return;
    }
    uint32_t seq = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
    int ok = len == in_length(seq) && (int64_t)seq > in_last;
    for (int i = 4; ok && i < len; i++)
        ok = p[i] == (unsigned char)(seq * 7 + i);
    if (!ok) {
        if (in_bad++ < 5)
            fprintf(stderr, "bad IN packet: seq %u len %d (want %d), previous seq %lld\n", seq, len, in_length(seq), (long long)in_last);
        return;
    }
    if (in_last < 0)
        in_first = seq;
    else
        in_gaps += (int)((int64_t)seq - in_last - 1);
    in_last = seq;
    in_data++;
}

static void LIBUSB_CALL in_done(struct libusb_transfer *t)
{
    if (t->status != LIBUSB_TRANSFER_COMPLETED) {
        if (t->status != LIBUSB_TRANSFER_CANCELLED)
            in_errors++;
        active--;
        return;
    }
    for (int i = 0; i < t->num_iso_packets; i++) {
        struct libusb_iso_packet_descriptor *d = &t->iso_packet_desc[i];
        if (d->status != LIBUSB_TRANSFER_COMPLETED) {
            in_errors++;
            continue;
        }
        check_in_packet(libusb_get_iso_packet_buffer_simple(t, i), d->actual_length);
    }
    if (in_data >= in_wanted || libusb_submit_transfer(t) != 0)
        active--;
}

/* Fills a transfer with the next OUT packets; 0 when there is nothing left to send. */
static int fill_out(struct libusb_transfer *t)
{
    int n = 0, offset = 0;
    while (n < PACKETS_PER_TRANSFER && out_next < out_total) {
        int len = out_length(out_next);
        unsigned char *p = t->buffer + offset;
        p[0] = out_next; p[1] = out_next >> 8; p[2] = out_next >> 16; p[3] = out_next >> 24;
        for (int i = 4; i < len; i++)
            p[i] = (unsigned char)(out_next * 11 + i);
        t->iso_packet_desc[n].length = len;
        offset += len;
        out_next++;
        n++;
    }
    t->num_iso_packets = n;
    t->length = offset;
    return n;
}

static void LIBUSB_CALL out_done(struct libusb_transfer *t)
{
    if (t->status != LIBUSB_TRANSFER_COMPLETED)
        out_errors++;
    else
        for (int i = 0; i < t->num_iso_packets; i++)
            if (t->iso_packet_desc[i].status != LIBUSB_TRANSFER_COMPLETED)
                out_errors++;
    out_completed += t->num_iso_packets;
    if (t->status != LIBUSB_TRANSFER_COMPLETED || !fill_out(t) || libusb_submit_transfer(t) != 0)
        active--;
}

static int run(libusb_context *ctx, double limit)
{
    double deadline = now_s() + limit;
    while (active > 0 && now_s() < deadline) {
        struct timeval tv = { 0, 100000 };
        libusb_handle_events_timeout_completed(ctx, &tv, NULL);
    }
    return active == 0;
}

/* libusb_open_device_with_vid_pid, but it remembers whether the device was listed and why opening it failed. */
static int want_bus = -1, want_address = -1;

static libusb_device_handle *open_device(libusb_context *ctx, uint16_t vid, uint16_t pid, int *listed, int *open_error)
{
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    libusb_device_handle *h = NULL;
    for (ssize_t i = 0; i < n && !h; i++) {
        struct libusb_device_descriptor d;
        if (libusb_get_device_descriptor(list[i], &d) != 0 || d.idVendor != vid || d.idProduct != pid)
            continue;
        if (want_bus >= 0 && (libusb_get_bus_number(list[i]) != want_bus || libusb_get_device_address(list[i]) != want_address))
            continue;
        *listed = 1;
        int r = libusb_open(list[i], &h);
        if (r != 0) {
            *open_error = r;
            h = NULL;
        }
    }
    if (n >= 0)
        libusb_free_device_list(list, 1);
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 8 && argc != 9) {
        fprintf(stderr, "usage: %s VID PID IN_PACKETS OUT_PACKETS OUT_FLUSH [BUSNUM DEVNUM [OUT_FIRST]] (hex ids)\n", argv[0]);
        return 2;
    }
    if (argc >= 8) {
        want_bus = atoi(argv[6]);
        want_address = atoi(argv[7]);
    }
    if (argc == 9)
        out_first = atoi(argv[8]);
    uint16_t vid = strtoul(argv[1], NULL, 16), pid = strtoul(argv[2], NULL, 16);
    in_wanted = atoi(argv[3]);
    out_next = out_first;
    out_total = out_first + atoi(argv[4]) + atoi(argv[5]);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* A fresh context for every attempt: libusb lists a device that appears later only through its hotplug monitor,
     * and in this guest that monitor missed the device now and then (never listed, while sysfs showed it configured);
     * a new context scans sysfs afresh. */
    libusb_context *ctx = NULL;
    libusb_device_handle *h = NULL;
    int listed = 0, open_error = 0;
    for (int i = 0; i < 1200 && !h; i++) { /* up to 2 minutes for the device to appear */
        if (libusb_init(&ctx) != 0)
            return 3;
        h = open_device(ctx, vid, pid, &listed, &open_error);
        if (!h) {
            libusb_exit(ctx);
            usleep(100000);
        }
    }
    if (!h) {
        /* Say which step failed: libusb never listed it, or listed it and could not open it. */
        if (listed)
            fprintf(stderr, "%04x:%04x is listed by libusb but did not open: %s\n", vid, pid, libusb_error_name(open_error));
        else
            fprintf(stderr, "%04x:%04x never appeared in libusb's device list\n", vid, pid);
        /* And what the kernel shows of each USB device: configured yet, runtime-suspended? */
        fflush(stderr);
        if (system("for d in /sys/bus/usb/devices/[0-9]*-*; do [ -e $d/idProduct ] && echo \"$d: $(cat $d/idVendor):$(cat $d/idProduct)"
                   " config=$(cat $d/bConfigurationValue) pm=$(cat $d/power/runtime_status 2>/dev/null)\"; done >&2") != 0)
            fprintf(stderr, "(could not list /sys/bus/usb/devices)\n");
        return 4;
    }
    libusb_set_auto_detach_kernel_driver(h, 1);
    int r = libusb_claim_interface(h, 0);
    if (r == 0)
        r = libusb_set_interface_alt_setting(h, 0, 1);
    if (r != 0) {
        fprintf(stderr, "claim/alt 1 failed: %s\n", libusb_error_name(r));
        return 5;
    }
    printf("opened %04x:%04x, interface 0 alt 1\n", vid, pid);

    struct libusb_transfer *t[TRANSFERS];
    double start = now_s();
    for (int i = 0; i < TRANSFERS; i++) {
        t[i] = libusb_alloc_transfer(PACKETS_PER_TRANSFER);
        unsigned char *buf = malloc(MPS * PACKETS_PER_TRANSFER);
        libusb_fill_iso_transfer(t[i], h, 0x81, buf, MPS * PACKETS_PER_TRANSFER, PACKETS_PER_TRANSFER, in_done, NULL, 1000);
        libusb_set_iso_packet_lengths(t[i], MPS);
        if (libusb_submit_transfer(t[i]) == 0)
            active++;
    }
    int in_finished = run(ctx, 60);
    for (int i = 0; i < TRANSFERS; i++)
        libusb_cancel_transfer(t[i]);
    run(ctx, 5);
    printf("IN: data=%d empty=%d gaps=%d bad=%d errors=%d first=%u last=%lld seconds=%.2f\n",
           in_data, in_empty, in_gaps, in_bad, in_errors, in_first, (long long)in_last, now_s() - start);

    start = now_s();
    active = 0;
    for (int i = 0; i < TRANSFERS; i++) {
        libusb_fill_iso_transfer(t[i], h, 0x02, t[i]->buffer, MPS * PACKETS_PER_TRANSFER, PACKETS_PER_TRANSFER, out_done, NULL, 1000);
        if (fill_out(t[i]) && libusb_submit_transfer(t[i]) == 0)
            active++;
    }
    int out_finished = run(ctx, 60);
    printf("OUT: sent=%d completed=%d errors=%d seconds=%.2f\n", out_next - out_first, out_completed, out_errors, now_s() - start);

    usleep(200000); /* let the last packets reach the host before the stream stops */
    libusb_set_interface_alt_setting(h, 0, 0);
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    return in_finished && out_finished && in_bad == 0 && in_data >= in_wanted && out_errors == 0 ? 0 : 1;
}
