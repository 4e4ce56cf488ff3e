/* The read and write callbacks of libusbredirparser and libusbredirhost over one non-blocking socket, shared by
 * usbredir_guest_peer.c and usbredirhost_listen.c: 0 when the socket has nothing more now, -1 (and hung_up set)
 * when the peer has gone. */
#ifndef USBREDIR_TESTS_SOCKET_IO_H
#define USBREDIR_TESTS_SOCKET_IO_H
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd = -1, hung_up;

static int on_read(void *priv, uint8_t *data, int count)
{
    ssize_t r;
    (void)priv;
    r = read(fd, data, (size_t)count);
    if (r > 0)
        return (int)r;
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    hung_up = 1;
    return -1;
}

static int on_write(void *priv, uint8_t *data, int count)
{
    ssize_t r;
    (void)priv;
    r = send(fd, data, (size_t)count, MSG_NOSIGNAL);
    if (r >= 0)
        return (int)r;
    if (errno == EAGAIN || errno == EINTR)
        return 0;
    hung_up = 1;
    return -1;
}
#endif
