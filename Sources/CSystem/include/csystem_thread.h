// The calling thread's kernel id (gettid) and kernel name (prctl, variadic), which glibc's Swift
// module does not export.
#ifndef PKGFETCH_CSYSTEM_THREAD_H
#define PKGFETCH_CSYSTEM_THREAD_H

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
static inline int csystem_thread_id(void) { return (int)syscall(SYS_gettid); }
// The kernel keeps the first 15 bytes.
static inline void csystem_set_thread_name(const char *name) { (void)prctl(PR_SET_NAME, name, 0, 0, 0); }
#else
static inline int csystem_thread_id(void) { return 0; }
static inline void csystem_set_thread_name(const char *name) { (void)name; }
#endif

#endif
