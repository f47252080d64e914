#include "carchive.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#ifdef __APPLE__
const char *const pkgfetch_libarchive_soname = "libarchive.2.dylib";
#else
const char *const pkgfetch_libarchive_soname = "libarchive.so.13";
#endif

// Set by the first successful load; archive_set_error is kept out of the table (Swift cannot
// import a variadic function's type).
static __typeof__(archive_set_error) *_Atomic loaded_set_error;

int pkgfetch_libarchive_load(const char *soname, struct pkgfetch_libarchive *table, char *reason, size_t size) {
    // RTLD_LOCAL: its symbols (and its dependencies') stay out of the process's global scope.
    void *library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(reason, size, "%s", dlerror());
        return -1;
    }
    void *symbol;
#define PKGFETCH_LIBARCHIVE_RESOLVE(name) \
    if (!(symbol = dlsym(library, "archive_" #name))) { \
        snprintf(reason, size, "%s has no archive_" #name, soname); \
        return -1; \
    } \
    table->name = (__typeof__(archive_##name) *)symbol;
    PKGFETCH_LIBARCHIVE_FUNCTIONS(PKGFETCH_LIBARCHIVE_RESOLVE)
#undef PKGFETCH_LIBARCHIVE_RESOLVE
    if (!(symbol = dlsym(library, "archive_set_error"))) {
        snprintf(reason, size, "%s has no archive_set_error", soname);
        return -1;
    }
    loaded_set_error = (__typeof__(archive_set_error) *)symbol;
    return 0;
}

void pkgfetch_archive_set_error(struct archive *archive, const char *message) {
    __typeof__(archive_set_error) *set_error = loaded_set_error;
    if (set_error && archive) set_error(archive, EIO, "%s", message);
}
