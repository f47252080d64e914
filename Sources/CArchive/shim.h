#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

/// archive_set_error takes a format and varargs, which Swift cannot call: the message as it is.
static inline void pkgfetch_archive_set_error(struct archive *archive, const char *message) {
    archive_set_error(archive, EIO, "%s", message);
}
