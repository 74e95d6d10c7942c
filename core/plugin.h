/*
 * plugin.h - finding, checking and opening driver plugins: `<type>.so` in
 * the plugin folder.
 */
#ifndef DBR_PLUGIN_H
#define DBR_PLUGIN_H

#include "internal.h"

/* dbr__plugin_open(): no folder has the plugin (not a status code). */
#define DBR__PLUGIN_MISSING (-1)

/* The most plugin folders searched: the environment's, plugin_dir's and
 * the default. */
#define DBR__PLUGIN_DIRS 3

/* The plugin folders, searched in order for `<type>.so`. */
struct dbr__plugin_dirs {
	const char *dir[DBR__PLUGIN_DIRS];
	const char *why[DBR__PLUGIN_DIRS]; /* where each came from */
	size_t n;
};

/*
 * The plugin folders in search order: the DBROUTE_PLUGIN_DIR environment
 * variable, the configuration's plugin_dir (`configured`, may be NULL),
 * then the default: the build tree's plugins.d for binaries run from the
 * build tree, else `dbroute/plugins.d` in the folder the shared library
 * was loaded from (a static link, which cannot know that folder, uses the
 * one configured at build time). A folder named twice is searched once.
 * Borrowed: valid while `configured` is and the environment unchanged.
 */
void dbr__plugin_dirs(const char *configured, struct dbr__plugin_dirs *out);

/*
 * Open `<type>.so` from the first folder of `dirs` that has it (a folder
 * without it, or missing, is skipped; a file that is there but refused,
 * a dangling symlink or a plugin folder that is not a folder is an error,
 * never passed over) once it passes the safety checks, and find its entry
 * symbol. The file is opened once and checked on that descriptor; it is
 * then loaded by its resolved path (so that $ORIGIN in its RPATH is its
 * folder), and the loaded file must be the one the descriptor reads. The
 * checks: a regular file owned by root or the current user, not writable
 * by group or others; the path to it, made absolute, resolved one
 * component at a time: every folder it passes through (on the path as
 * written and on each symlink's target) the same (a root-owned folder
 * with the sticky bit, like /tmp, is accepted) and every symlink on it
 * owned by root or the current user, so nobody else can lead the path
 * elsewhere or swap the file between the check and the load; an ELF
 * shared object for this machine whose program headers, loadable
 * segments and section headers lie inside the file.
 * Loaded with RTLD_NOW | RTLD_LOCAL. When no folder has the file, returns
 * DBR__PLUGIN_MISSING with the paths tried in msg (dbr__plugin_tried()).
 * Otherwise, on failure writes the reason (naming the configured path)
 * into msg and returns DBR_E_CONFIG or DBR_E_NOMEM. *path receives the
 * configured path (owned), also on failure when known; *real the resolved
 * file (owned), *fd the descriptor the plugin was loaded through (the
 * loader knows the plugin by its name, so it stays open while the plugin
 * is loaded), both on success only.
 */
int dbr__plugin_open(const struct dbr__plugin_dirs *dirs, const char *type,
		     void **dl, int *fd, dbr_driver_entry_fn *entry,
		     char **path, char **real, char *msg, size_t msgsize);

/*
 * The resolved path of `<type>.so` in the first folder of `dirs` that has
 * it, found as dbr__plugin_open() finds it, into *real (owned). Returns
 * DBR_OK, DBR__PLUGIN_MISSING (the paths tried in msg), or DBR_E_CONFIG or
 * DBR_E_NOMEM with the reason in msg.
 */
int dbr__plugin_resolve(const struct dbr__plugin_dirs *dirs, const char *type,
			char **real, char *msg, size_t msgsize);

/*
 * The types of the `*.so` files in the folders of `dirs` (at most max,
 * each a valid type name), for a "did you mean": written into names, their
 * number returned.
 */
size_t dbr__plugin_types(const struct dbr__plugin_dirs *dirs, char (*names)[33],
			 size_t max);

/*
 * "'<dir>/<type>.so' (plugin folder <why>)" for each folder of `dirs`,
 * separated by ", ", into buf.
 */
void dbr__plugin_tried(const struct dbr__plugin_dirs *dirs, const char *type,
		       char *buf, size_t size);

/*
 * Check the native file `path` (not loaded here) as dbr__plugin_open()
 * checks a plugin, messages calling it `noun` ("extension"): writes its
 * real path into real and returns DBR_OK, else DBR_E_CONFIG or
 * DBR_E_NOMEM with the reason in msg.
 */
int dbr__native_check(const char *noun, const char *path, char *real,
		      size_t realsize, char *msg, size_t msgsize);

/* Unload a plugin and close its descriptor (NULL and -1 are ignored). */
void dbr__plugin_close(void *dl, int fd);

#endif /* DBR_PLUGIN_H */
