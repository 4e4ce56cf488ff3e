/*
 * Control transfers with odd lengths, a control stall, and a bulk stall with its clear-halt, driven from a Linux guest
 * against QEMU's usb-storage (usb-msd) as another side forwards it: the device opened here is the forwarded one, the
 * original's sysfs "descriptors" file (device descriptor, then the raw configuration) is what its answers must match.
 *
 *  - GET_DESCRIPTOR(device) with wLength 7 and 18, GET_DESCRIPTOR(configuration) with wLength 1, 9, 31 and 255 (the
 *    device answers short: its wTotalLength), GET_DESCRIPTOR(string) with wLength 5 and 255: each answer is as long as
 *    asked (or the whole descriptor) and equals the original's bytes; with interface 0 claimed, the class request
 *    GET_MAX_LUN with wLength 1.
 *  - GET_DESCRIPTOR of an undefined type stalls EP0 (LIBUSB_ERROR_PIPE); the next request works.
 *  - A CBW with a bad signature makes usb-msd stall bulk OUT (LIBUSB_ERROR_PIPE); after libusb_clear_halt a TEST UNIT
 *    READY goes through and its CSW (13 bytes, same tag, status 0) comes back on bulk IN.
 *
 * Prints one "ok ..." line per step and exits 0, or names the step that failed and exits 1.
 * Usage: libusb_msd_faults BUSNUM DEVNUM ORIGINAL_DESCRIPTORS_FILE
 */
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 10000

static int fail(const char *what, int r)
{
    fprintf(stderr, "FAILED %s: %s\n", what, r < 0 ? libusb_error_name(r) : "mismatch");
    return 1;
}

static int get_descriptor(libusb_device_handle *h, int type, int index, int langid, unsigned char *buf, int len)
{
    return libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR, (uint16_t)(type << 8 | index),
                                   (uint16_t)langid, buf, (uint16_t)len, TIMEOUT_MS);
}

/* A CBW: signature, tag, data length, flags (0x80 IN), LUN 0, the command. */
static void cbw(unsigned char *b, uint32_t sig, uint32_t tag, const unsigned char *cmd, int cmdlen)
{
    memset(b, 0, 31);
    memcpy(b, &sig, 4);
    memcpy(b + 4, &tag, 4);
    b[14] = (unsigned char)cmdlen;
    memcpy(b + 15, cmd, cmdlen);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s BUSNUM DEVNUM ORIGINAL_DESCRIPTORS_FILE\n", argv[0]);
        return 2;
    }
    int busnum = atoi(argv[1]), devnum = atoi(argv[2]);
    unsigned char want[4096];
    FILE *f = fopen(argv[3], "rb");
    if (!f)
        return fail("opening the original's descriptors file", 0);
    size_t wantlen = fread(want, 1, sizeof want, f);
    fclose(f);
    if (wantlen < 18 + 9)
        return fail("the original's descriptors file is short", 0);
    const unsigned char *wantconf = want + 18;
    int total = wantconf[2] | wantconf[3] << 8;
    if ((size_t)(18 + total) > wantlen)
        return fail("the original's configuration is short", 0);

    libusb_context *ctx;
    int r = libusb_init(&ctx);
    if (r < 0)
        return fail("libusb_init", r);
    libusb_device **list;
    libusb_device_handle *h = NULL;
    ssize_t n = libusb_get_device_list(ctx, &list);
    for (ssize_t i = 0; i < n && !h; i++)
        if (libusb_get_bus_number(list[i]) == busnum && libusb_get_device_address(list[i]) == devnum) {
            r = libusb_open(list[i], &h);
            if (r < 0)
                return fail("libusb_open", r);
        }
    libusb_free_device_list(list, 1);
    if (!h)
        return fail("finding the forwarded device", 0);

    unsigned char buf[512];
    /* Odd lengths on EP0: each answer is the first wLength bytes of the original's descriptor (or all of it). */
    static const int devlens[] = {7, 18};
    for (size_t i = 0; i < sizeof devlens / sizeof *devlens; i++) {
        r = get_descriptor(h, LIBUSB_DT_DEVICE, 0, 0, buf, devlens[i]);
        if (r != devlens[i] || memcmp(buf, want, (size_t)r))
            return fail("GET_DESCRIPTOR(device) with an odd length", r < 0 ? r : 0);
    }
    static const int conflens[] = {1, 9, 31, 255};
    for (size_t i = 0; i < sizeof conflens / sizeof *conflens; i++) {
        int expect = conflens[i] < total ? conflens[i] : total;
        r = get_descriptor(h, LIBUSB_DT_CONFIG, 0, 0, buf, conflens[i]);
        if (r != expect || memcmp(buf, wantconf, (size_t)r)) {
            fprintf(stderr, "wLength %d: got %d, want %d\n", conflens[i], r, expect);
            return fail("GET_DESCRIPTOR(configuration) with an odd length", r < 0 ? r : 0);
        }
    }
    int iproduct = want[15];
    unsigned char full[256];
    int langs = get_descriptor(h, LIBUSB_DT_STRING, 0, 0, buf, 255);
    if (langs < 4)
        return fail("GET_DESCRIPTOR(string 0)", langs < 0 ? langs : 0);
    int langid = buf[2] | buf[3] << 8;
    int fulllen = get_descriptor(h, LIBUSB_DT_STRING, iproduct, langid, full, 255);
    if (fulllen < 6 || fulllen != full[0])
        return fail("GET_DESCRIPTOR(product string) with wLength 255", fulllen < 0 ? fulllen : 0);
    r = get_descriptor(h, LIBUSB_DT_STRING, iproduct, langid, buf, 5);
    if (r != 5 || memcmp(buf, full, 5))
        return fail("GET_DESCRIPTOR(product string) with wLength 5", r < 0 ? r : 0);
    printf("ok odd-length control: device 7/18, configuration 1/9/31/255 (total %d), string 5/255 (%d)\n", total, fulllen);

    /* A request the device does not know stalls EP0; the stall clears with the next setup. */
    r = get_descriptor(h, 0x2a, 0, 0, buf, 9);
    if (r != LIBUSB_ERROR_PIPE)
        return fail("GET_DESCRIPTOR(type 0x2a) stalls", r < 0 ? r : 0);
    r = get_descriptor(h, LIBUSB_DT_DEVICE, 0, 0, buf, 18);
    if (r != 18 || memcmp(buf, want, 18))
        return fail("GET_DESCRIPTOR(device) after the control stall", r < 0 ? r : 0);
    printf("ok control stall: undefined descriptor type stalled, EP0 answers again\n");

    /* Bulk: the endpoints of interface 0 (the first OUT and IN bulk endpoints of the configuration). */
    unsigned char ep_out = 0, ep_in = 0;
    for (int o = 9; o + 2 < total; o += wantconf[o]) {
        if (wantconf[o] < 2)
            return fail("walking the configuration", 0);
        if (wantconf[o + 1] == LIBUSB_DT_ENDPOINT && (wantconf[o + 3] & 3) == LIBUSB_TRANSFER_TYPE_BULK) {
            if (wantconf[o + 2] & 0x80) {
                if (!ep_in)
                    ep_in = wantconf[o + 2];
            } else if (!ep_out) {
                ep_out = wantconf[o + 2];
            }
        }
    }
    if (!ep_in || !ep_out)
        return fail("finding the bulk endpoints", 0);
    libusb_set_auto_detach_kernel_driver(h, 1);
    r = libusb_claim_interface(h, 0);
    if (r < 0)
        return fail("claiming interface 0", r);
    /* A class request to the interface (claimed now, as usbfs wants): GET_MAX_LUN, wLength 1. */
    r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE, 0xfe, 0, 0,
                                buf, 1, TIMEOUT_MS);
    if (r != 1 || buf[0] != 0)
        return fail("GET_MAX_LUN (wLength 1)", r < 0 ? r : 0);
    printf("ok class request: GET_MAX_LUN, wLength 1, answered 0\n");
    unsigned char block[31];
    static const unsigned char tur[6] = {0};
    int moved = 0;
    cbw(block, 0x12345678, 1, tur, 6); /* a bad signature */
    r = libusb_bulk_transfer(h, ep_out, block, 31, &moved, TIMEOUT_MS);
    if (r != LIBUSB_ERROR_PIPE)
        return fail("a CBW with a bad signature stalls bulk OUT", r < 0 ? r : 0);
    r = libusb_clear_halt(h, ep_out);
    if (r < 0)
        return fail("libusb_clear_halt(bulk OUT)", r);
    cbw(block, 0x43425355, 0x5a5a0001, tur, 6);
    r = libusb_bulk_transfer(h, ep_out, block, 31, &moved, TIMEOUT_MS);
    if (r < 0 || moved != 31)
        return fail("TEST UNIT READY's CBW after the clear-halt", r);
    unsigned char csw[64];
    r = libusb_bulk_transfer(h, ep_in, csw, sizeof csw, &moved, TIMEOUT_MS);
    uint32_t sig, tag;
    memcpy(&sig, csw, 4);
    memcpy(&tag, csw + 4, 4);
    if (r < 0 || moved != 13 || sig != 0x53425355 || tag != 0x5a5a0001 || csw[12] != 0) {
        fprintf(stderr, "CSW: %d bytes, signature %08x, tag %08x, status %d\n", moved, sig, tag, csw[12]);
        return fail("the CSW of TEST UNIT READY", r);
    }
    printf("ok bulk stall: bad CBW stalled 0x%02x, clear-halt, TEST UNIT READY's CSW on 0x%02x (status 0)\n", ep_out, ep_in);
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    return 0;
}
