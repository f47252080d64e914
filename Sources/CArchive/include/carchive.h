// libarchive, loaded when something is first unpacked rather than when pkgfetch starts: its chain
// (libxml2, ICU, libacl, the compressors) was a fifth of the shared objects every run loaded, and a
// fetch that unpacks nothing needs none of it. Its headers give the types, constants and signatures;
// the functions are called through `struct pkgfetch_libarchive`, filled from libarchive.so.13 by
// dlopen/dlsym. Nothing here links libarchive, so calling `archive_*` directly fails to link.
#ifndef PKGFETCH_CARCHIVE_H
#define PKGFETCH_CARCHIVE_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

// The functions pkgfetch calls, without their `archive_` prefix.
#define PKGFETCH_LIBARCHIVE_FUNCTIONS(X) \
    X(version_details) X(read_new) X(read_free) \
    X(read_support_format_tar) X(read_support_format_zip) X(read_support_format_zip_streamable) \
    X(read_support_format_raw) X(read_append_filter) X(read_open) X(read_open_filename) \
    X(read_next_header) X(read_data) X(read_data_block) X(read_header_position) \
    X(format) X(format_name) X(filter_count) X(filter_name) X(filter_bytes) X(error_string) \
    X(entry_pathname) X(entry_hardlink) X(entry_symlink) X(entry_filetype) X(entry_perm) \
    X(entry_size) X(entry_size_is_set) X(entry_mtime) X(entry_mtime_nsec) X(entry_mtime_is_set) \
    X(entry_atime) X(entry_atime_nsec) X(entry_atime_is_set) X(entry_is_encrypted)

/// libarchive's functions, each with its own signature (`archive_read_new` is `read_new`).
struct pkgfetch_libarchive {
#define PKGFETCH_LIBARCHIVE_FIELD(name) __typeof__(archive_##name) *_Nonnull name;
    PKGFETCH_LIBARCHIVE_FUNCTIONS(PKGFETCH_LIBARCHIVE_FIELD)
#undef PKGFETCH_LIBARCHIVE_FIELD
};

/// The library's name for dlopen: the soname of libarchive 3 (Debian's libarchive13).
extern const char *_Nonnull const pkgfetch_libarchive_soname;

/// Opens `soname` and resolves every function into `table`: 0, or -1 with dlerror's reason in `reason`
/// (cut to `size`). The library stays loaded for the life of the process.
int pkgfetch_libarchive_load(const char *_Nonnull soname, struct pkgfetch_libarchive *_Nonnull table,
                             char *_Nonnull reason, size_t size);

/// archive_set_error takes a format and varargs, which Swift cannot call: the message as it is. Only
/// for an archive made by a loaded libarchive.
void pkgfetch_archive_set_error(struct archive *_Nullable archive, const char *_Nonnull message);

#endif
