/* Linked only into static binaries (argoexec). libarchive 3.6's
 * archive_write_set_format.o holds both this helper, which every writer
 * format calls, and the by-code format table, which pulls in the xar writer
 * and with it libxml2 and ICU: defining the helper here keeps that object
 * (and those libraries) out of a static link. Same behaviour: the entry's
 * type cannot be written in this format. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

void __archive_write_entry_filetype_unsupported(struct archive* a, struct archive_entry* entry,
                                                const char* format) {
  const char* name = archive_entry_pathname(entry);
  archive_set_error(a, EINVAL, "%s: %s format cannot archive this file type",
                    name != NULL ? name : "entry", format);
}
