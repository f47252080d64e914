// System calls Swift cannot reach directly: syscall(2) is variadic and renameat2 needs _GNU_SOURCE.
#ifndef PKGFETCH_CSYSTEM_H
#define PKGFETCH_CSYSTEM_H

#include "csystem_thread.h"
#include "csystem_spawn.h"
#include "csystem_keeper.h"
#include <errno.h>

#ifdef __linux__
#include <fcntl.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

/// Swaps entry `a` of directory `dir_a` with entry `b` of `dir_b` in one step (renameat2
/// RENAME_EXCHANGE, neither followed if a symlink); -1 with errno (EINVAL: unsupported here).
static inline int csystem_exchange_at(int dir_a, const char *a, int dir_b, const char *b) {
    return (int)syscall(SYS_renameat2, dir_a, a, dir_b, b, RENAME_EXCHANGE);
}

/// The file-system type (statfs f_type, e.g. 0x9fa0 for proc) of open file `fd`; -1 with errno.
/// Behind a wrapper: Swift's Glibc module does not bring in sys/vfs.h.
#include <sys/vfs.h>
static inline long csystem_fs_type(int fd) {
    struct statfs info;
    return fstatfs(fd, &info) == 0 ? (long)info.f_type : -1;
}

/// O_PATH (a handle on an entry itself, a symlink included, for fstat and readlinkat); a macro
/// behind _GNU_SOURCE, so Swift does not see it.
#ifdef O_PATH
static const int csystem_O_PATH = O_PATH;
#else
static const int csystem_O_PATH = __O_PATH;
#endif

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
static inline int csystem_exchange_at(int dir_a, const char *a, int dir_b, const char *b) { (void)dir_a; (void)a; (void)dir_b; (void)b; errno = EINVAL; return -1; }
static const int csystem_O_PATH = 0;
#endif

#endif
