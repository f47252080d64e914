// Pipes for the processes pkgfetch starts (see csystem_keeper.h for how it starts them).
#ifndef PKGFETCH_CSYSTEM_SPAWN_H
#define PKGFETCH_CSYSTEM_SPAWN_H

/// A pipe whose two ends are close-on-exec from the start (pipe2 O_CLOEXEC, behind _GNU_SOURCE), so
/// no process spawned meanwhile by another thread inherits them; -1 with errno.
int csystem_pipe_cloexec(int ends[2]);

#endif
