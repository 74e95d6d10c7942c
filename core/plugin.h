/*
 * plugin.h - finding, checking and opening driver plugins: `<type>.so` in
 * the plugin folder.
 */
#ifndef DBR_PLUGIN_H
#define DBR_PLUGIN_H

#include "internal.h"

/*
 * The plugin folder in effect, in order of precedence: the
 * DBROUTE_PLUGIN_DIR environment variable, the configuration's plugin_dir
 * (`configured`, may be NULL), the default: the build tree's plugins.d
 * for binaries run from the build tree, else `dbroute/plugins.d` in the
 * folder the shared library was loaded from (a static link, which cannot
 * know that folder, uses the one configured at build time).
 * *why receives where it came from, for messages.
 */
const char *dbr__plugin_dir(const char *configured, const char **why);

/*
 * Open `<dir>/<type>.so` once it passes the safety checks, and find its
 * entry symbol. The file is opened once and everything is checked on that
 * descriptor; it is then loaded by its real path (so that $ORIGIN in its
 * RPATH is its folder), and the loaded file must be the one the descriptor
 * reads. The checks: a regular file owned by root or the current user,
 * not writable by group or others; the same for `dir`, for the resolved
 * file, and for every folder on its real path up to / (a root-owned
 * folder with the sticky bit, like /tmp, is accepted), so nobody else can
 * swap the file between the check and the load; an ELF shared object for
 * this machine whose program headers, loadable segments and section
 * headers lie inside the file.
 * Loaded with RTLD_NOW | RTLD_LOCAL. `builtins` lists the built-in types
 * for the message of a missing file. On failure writes the reason (naming
 * the configured path) into msg and returns DBR_E_CONFIG. *path receives
 * the configured path (owned), also on failure when known; *real the
 * resolved file (owned), *fd the descriptor the plugin was loaded
 * through (the loader knows the plugin by its name, so it stays open while
 * the plugin is loaded), both on success only.
 */
int dbr__plugin_open(const char *dir, const char *why, const char *type,
		     const char *builtins, void **dl, int *fd,
		     dbr_driver_entry_fn *entry, char **path, char **real,
		     char *msg, size_t msgsize);

/*
 * The resolved path of `<dir>/<type>.so` (owned), or NULL when it cannot
 * be resolved (errno says why) or memory runs out.
 */
char *dbr__plugin_resolve(const char *dir, const char *type);

/* Unload a plugin and close its descriptor (NULL and -1 are ignored). */
void dbr__plugin_close(void *dl, int fd);

#endif /* DBR_PLUGIN_H */
