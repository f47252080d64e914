// Starting a process so that everything it starts ends with it: through a keeper process.
#ifndef PKGFETCH_CSYSTEM_KEEPER_H
#define PKGFETCH_CSYSTEM_KEEPER_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (both NULL-terminated) through a keeper: a child of this
/// process that is a child subreaper (prctl PR_SET_CHILD_SUBREAPER) and the parent of the started
/// process, which leads a process group of its own (its group id is its pid). Descriptor i of the
/// started process is `sources[i]` for i < `count` (-1: /dev/null); every other descriptor is closed;
/// every signal has its default action and none is blocked. When the started process exits, the keeper
/// kills what is left in its group, then every process orphaned below it (which the kernel gave to the
/// keeper, not to this process or init: a `setsid` daemon), reaps them, reports the exit and exits.
/// So this process never adopts, kills or reaps a process it did not start, whatever its own role
/// (a subreaper, PID 1 in a container). Returns 0 and sets `*keeper`, `*helper` (the started
/// process) and `*report` (a descriptor to pass to `csystem_kept_wait`), or an errno value (the
/// keeper could not start it: exec failed, …).
int csystem_spawn_kept(const char *path, char *const argv[], char *const envp[], const int *sources, int count,
                       pid_t *keeper, pid_t *helper, int *report);

/// Blocks until the keeper reports the started process's end, reaps the keeper, and sets `*status`
/// to the started process's wait status (SIGKILL's number, as a wait status of death by SIGKILL, when
/// the keeper ended without a report). Returns 0, or EIO when there was no report. Does not close `report`.
int csystem_kept_wait(pid_t keeper, int report, int *status);

#endif
