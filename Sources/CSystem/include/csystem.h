// System calls Swift cannot reach directly: syscall(2) is variadic and renameat2 needs _GNU_SOURCE.
#ifndef PKGFETCH_CSYSTEM_H
#define PKGFETCH_CSYSTEM_H

#include "csystem_thread.h"

#ifdef __linux__
#include <fcntl.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

/// Swaps two paths in one step (renameat2 with RENAME_EXCHANGE); -1 with errno when unsupported.
static inline int csystem_rename_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

/// Starts writeback of a file range without waiting (sync_file_range SYNC_FILE_RANGE_WRITE), so a
/// later fsync has little left to do; -1 with errno when unsupported.
static inline int csystem_start_writeback(int fd, long long offset, long long length) {
    return (int)syscall(SYS_sync_file_range, fd, (off_t)offset, (off_t)length, 2 /* SYNC_FILE_RANGE_WRITE */);
}
/// Drops a written range's clean pages from the page cache (posix_fadvise DONTNEED); pages still
/// dirty or under writeback stay. Returns 0 or an errno value.
static inline int csystem_drop_cached(int fd, long long offset, long long length) {
    return posix_fadvise(fd, (off_t)offset, (off_t)length, POSIX_FADV_DONTNEED);
}
/// Forces every file system write on the file system holding `fd` to disk (syncfs); -1 with errno.
static inline int csystem_syncfs(int fd) {
    return (int)syscall(SYS_syncfs, fd);
}

/// Makes malloc serve blocks of `bytes` and more with mmap, and stop raising that threshold as
/// such blocks are freed (glibc's default), so large buffers go back to the system when freed.
static inline int csystem_mmap_allocations_from(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}
#else
static inline int csystem_syncfs(int fd) { return fsync(fd); }
static inline int csystem_mmap_allocations_from(int bytes) { (void)bytes; return 1; }
static inline int csystem_drop_cached(int fd, long long offset, long long length) { (void)fd; (void)offset; (void)length; return 0; }
static inline int csystem_start_writeback(int fd, long long offset, long long length) { (void)fd; (void)offset; (void)length; return -1; }
static inline int csystem_rename_exchange(const char *a, const char *b) { (void)a; (void)b; return -1; }
#endif

#endif
