// Starting a helper process the way pkgfetch needs and Foundation's Process cannot: in a process group
// of its own (so the whole group can be stopped), with exactly the descriptors and signals given.
#ifndef PKGFETCH_CSYSTEM_SPAWN_H
#define PKGFETCH_CSYSTEM_SPAWN_H

#include <sys/types.h>

/// Spawns `path` with `argv` and `envp` (both NULL-terminated) as the leader of a new process group
/// (its group id is its pid). Its stdin is /dev/null; its stdout, stderr and descriptor 3 are
/// `out_fd`, `err_fd` and `announce_fd`; every other descriptor is closed; every signal has its
/// default action and none is blocked (pkgfetch ignores SIGINT/SIGTERM/SIGHUP, and ignored signals
/// survive exec). Returns 0 and sets `*pid`, or an errno value.
int csystem_spawn_in_group(const char *path, char *const argv[], char *const envp[],
                           int out_fd, int err_fd, int announce_fd, pid_t *pid);

/// A pipe whose two ends are close-on-exec from the start (pipe2 O_CLOEXEC, behind _GNU_SOURCE), so
/// no process spawned meanwhile by another thread inherits them; -1 with errno.
int csystem_pipe_cloexec(int ends[2]);

/// Waits until `pid` has exited without reaping it (waitid WNOWAIT), so its pid, and so its process
/// group id, cannot be reused while the group is signalled. Returns 0, or an errno value.
int csystem_wait_exited_unreaped(pid_t pid);

/// Makes this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER): a process orphaned below it
/// (a helper's `setsid` daemon whose parent exited) becomes its child instead of init's, so it can be
/// found and ended. Returns 0, or an errno value (EINVAL: not Linux 3.4 or later).
int csystem_become_child_subreaper(void);

#endif
