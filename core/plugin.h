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
 * (`configured`, may be NULL), the compiled-in default (the build tree's
 * plugins.d for binaries run from the build tree, else the installed one).
 * *why receives where it came from, for messages.
 */
const char *dbr__plugin_dir(const char *configured, const char **why);

/*
 * Open `<dir>/<type>.so` once it passes the safety checks (a regular file,
 * neither it nor its folder writable by group or others, owned by root or
 * the current user; an ELF shared object for this machine whose program
 * headers, loadable segments and section headers lie inside the file),
 * with RTLD_NOW | RTLD_LOCAL, and find its entry
 * symbol. `builtins` lists the built-in types for the message of a
 * missing file. On failure writes the reason into msg and returns DBR_E_CONFIG.
 * *path receives the file's path (owned), also on failure when known.
 */
int dbr__plugin_open(const char *dir, const char *why, const char *type,
		     const char *builtins, void **dl,
		     dbr_driver_entry_fn *entry, char **path, char *msg,
		     size_t msgsize);

void dbr__plugin_close(void *dl);

#endif /* DBR_PLUGIN_H */
