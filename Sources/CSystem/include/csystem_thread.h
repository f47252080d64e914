// The calling thread's kernel id (gettid), which glibc's Swift module does not export.
#ifndef PKGFETCH_CSYSTEM_THREAD_H
#define PKGFETCH_CSYSTEM_THREAD_H

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
static inline int csystem_thread_id(void) { return (int)syscall(SYS_gettid); }
#else
static inline int csystem_thread_id(void) { return 0; }
#endif

#endif
