/*
 * C baseline for the tls benchmark: TLS over a 127.0.0.1 TCP pair with OpenSSL, both ends in this one process (a
 * writer thread and a reader thread, as the .NET rows run both ends in one process), so the figure is what TLS itself
 * costs on this machine without .NET or usbredir.
 *
 * usage: tls_stream CERT KEY CIPHERSUITE CHUNK RECORD SECONDS
 *   CERT/KEY: the server's certificate and key (PEM); the client does not check it (the handshake is not measured).
 *   CIPHERSUITE: a TLS 1.3 suite name (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256).
 *   CHUNK: bytes per SSL_write; RECORD: most plaintext bytes per record (SSL_set_max_send_fragment).
 * The reader reads into a 256 KiB buffer, as UsbRedir's read loop does; OpenSSL reads ahead (several records per
 * socket read).
 * prints: bytes=B ns=N cpu_ns=C switches=S cipher=NAME   (C: CPU time of the whole process, both threads, while
 * measuring; S: its voluntary context switches)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop_flag;
static SSL *writer_ssl;
static size_t chunk_size;

static void die(const char *what)
{
    fprintf(stderr, "tls_stream: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long cpu_ns(long *voluntary_switches)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    *voluntary_switches = u.ru_nvcsw;
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000LL + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000LL;
}

static void *client_handshake(void *arg)
{
    if (SSL_connect((SSL *)arg) != 1)
        die("SSL_connect failed");
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    unsigned char *chunk = calloc(1, chunk_size);
    while (!atomic_load(&stop_flag))
        if (SSL_write(writer_ssl, chunk, (int)chunk_size) <= 0)
            break;
    free(chunk);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7)
    {
        fprintf(stderr, "usage: tls_stream CERT KEY CIPHERSUITE CHUNK RECORD SECONDS\n");
        return 2;
    }
    chunk_size = (size_t)atol(argv[4]);
    long record = atol(argv[5]);
    double seconds = atof(argv[6]);

    int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 1) || getsockname(listener, (struct sockaddr *)&addr, &len))
        die("cannot listen on 127.0.0.1");
    int client_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client_fd, (struct sockaddr *)&addr, sizeof addr))
        die("cannot connect");
    int server_fd = accept(listener, NULL, NULL);
    close(listener);
    setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    SSL_CTX *server_ctx = SSL_CTX_new(TLS_server_method()), *client_ctx = SSL_CTX_new(TLS_client_method());
    for (SSL_CTX *ctx = server_ctx; ctx; ctx = ctx == server_ctx ? client_ctx : NULL)
    {
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
        if (!SSL_CTX_set_ciphersuites(ctx, argv[3]))
            die("unknown cipher suite");
        SSL_CTX_set_read_ahead(ctx, 1);
    }
    if (SSL_CTX_use_certificate_chain_file(server_ctx, argv[1]) != 1 || SSL_CTX_use_PrivateKey_file(server_ctx, argv[2], SSL_FILETYPE_PEM) != 1)
        die("cannot load the certificate or key");
    SSL *server = SSL_new(server_ctx), *client = SSL_new(client_ctx);
    SSL_set_fd(server, server_fd);
    SSL_set_fd(client, client_fd);
    pthread_t handshake;
    pthread_create(&handshake, NULL, client_handshake, client);
    if (SSL_accept(server) != 1)
        die("SSL_accept failed");
    pthread_join(handshake, NULL);

    // The server writes (as UsbRedir's usb-host end answers bulk IN), the client reads.
    writer_ssl = server;
    if (record > 0 && !SSL_set_max_send_fragment(server, record))
        die("bad record size");
    static unsigned char buffer[256 * 1024];
    pthread_t thread;
    pthread_create(&thread, NULL, writer, NULL);
    // Warm-up: the first 64 MiB.
    for (long long got = 0; got < 64LL << 20;)
    {
        int n = SSL_read(client, buffer, sizeof buffer);
        if (n <= 0)
            die("SSL_read failed");
        got += n;
    }
    long switches_start, switches_end;
    long long bytes = 0, start = now_ns(), cpu_start = cpu_ns(&switches_start), end = start + (long long)(seconds * 1e9), t;
    while ((t = now_ns()) < end)
    {
        int n = SSL_read(client, buffer, sizeof buffer);
        if (n <= 0)
            die("SSL_read failed");
        bytes += n;
    }
    long long cpu = cpu_ns(&switches_end) - cpu_start;
    printf("bytes=%lld ns=%lld cpu_ns=%lld switches=%ld cipher=%s\n", bytes, t - start, cpu, switches_end - switches_start, SSL_get_cipher_name(client));
    fflush(stdout);
    _exit(0); // the writer is blocked in SSL_write: do not wait for it
}
