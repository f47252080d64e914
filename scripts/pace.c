// Preloaded into nginx (LD_PRELOAD) by the capped-link benchmark and tests: every connection accepted
// on a port listed in PACE_RATES ("PORT=BYTES_PER_SECOND,…") is paced at that rate by the kernel
// (SO_MAX_PACING_RATE). That caps each connection the way a CDN or blob store does, for its whole
// life. nginx's own limit_rate does not: it lets every request send a second's worth at once
// (rate × (now − start + 1)), so a 2 MiB range request on a "50m" location is not capped at all.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void pace(int fd) {
    const char *rates = getenv("PACE_RATES");
    struct sockaddr_in local;
    socklen_t length = sizeof local;
    if (fd < 0 || !rates || getsockname(fd, (struct sockaddr *)&local, &length) != 0 || local.sin_family != AF_INET) return;
    unsigned port = ntohs(local.sin_port);
    for (const char *entry = rates; entry && *entry; entry = strchr(entry, ',') ? strchr(entry, ',') + 1 : NULL) {
        char *end;
        unsigned long listed = strtoul(entry, &end, 10);
        if (*end != '=' || listed != port) continue;
        unsigned long rate = strtoul(end + 1, NULL, 10);
        setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate);
        return;
    }
}

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    int client = real(fd, address, length, flags);
    pace(client);
    return client;
}

int accept(int fd, struct sockaddr *address, socklen_t *length) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    int client = real(fd, address, length);
    pace(client);
    return client;
}
