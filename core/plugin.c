/*
 * plugin.c - the plugin folder and the checks a plugin passes before it is
 * loaded into the process.
 */
#define _GNU_SOURCE /* dladdr() */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "option.h"
#include "plugin.h"

#ifndef DBR_BUILD_DIR
#define DBR_BUILD_DIR ""
#endif
#ifndef DBR_INSTALL_PLUGIN_DIR
#define DBR_INSTALL_PLUGIN_DIR "/usr/local/lib/dbroute/plugins.d"
#endif

/*
 * Code running from a file inside the build tree (the library, or a test
 * linked with the static library) uses the build tree's plugins.d, as
 * CMake gives build-tree binaries their own RPATH.
 */
static const char anchor; /* an address inside this library */

static bool in_build_tree(void)
{
	size_t n = strlen(DBR_BUILD_DIR);
	const char *file;
	char exe[4096];
	ssize_t len;
	Dl_info info;

	if (!n || !dladdr(&anchor, &info) || !info.dli_fname)
		return false;
	file = info.dli_fname;
	/* For the main program (a static link) the name may be relative. */
	if (file[0] != '/') {
		len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (len <= 0)
			return false;
		exe[len] = '\0';
		file = exe;
	}
	return !strncmp(file, DBR_BUILD_DIR, n) && file[n] == '/';
}

const char *dbr__plugin_dir(const char *configured, const char **why)
{
	const char *env = getenv("DBROUTE_PLUGIN_DIR");

	if (env && *env) {
		*why = "from DBROUTE_PLUGIN_DIR";
		return env;
	}
	if (configured) {
		*why = "from plugin_dir";
		return configured;
	}
	if (in_build_tree()) {
		*why = "the build tree's default";
		return DBR_BUILD_DIR "/plugins.d";
	}
	*why = "the installed default";
	return DBR_INSTALL_PLUGIN_DIR;
}

/* Refuse what another user could have replaced. */
static int check_owner_mode(const char *what, const char *path,
			    const struct stat *st, char *msg, size_t size)
{
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(msg, size,
			 "plugin %s '%s' is writable by group or others "
			 "(mode %04o); refusing to load it",
			 what, path, (unsigned)(st->st_mode & 07777));
		return DBR_E_CONFIG;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(msg, size,
			 "plugin %s '%s' is owned by uid %u, neither root nor "
			 "the current user; refusing to load it",
			 what, path, (unsigned)st->st_uid);
		return DBR_E_CONFIG;
	}
	return DBR_OK;
}

static int check_file(const char *dir, const char *why, const char *path,
		      const char *builtins, char *msg, size_t size)
{
	struct stat st;
	int rc;

	if (stat(path, &st)) {
		snprintf(msg, size,
			 "no built-in driver (built in: %s) and no plugin for "
			 "this type: tried '%s' (plugin folder %s): %s",
			 builtins, path, why, strerror(errno));
		return DBR_E_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, size, "plugin '%s' is not a regular file", path);
		return DBR_E_CONFIG;
	}
	rc = check_owner_mode("file", path, &st, msg, size);
	if (rc)
		return rc;
	if (stat(dir, &st)) {
		snprintf(msg, size, "plugin folder '%s': %s", dir,
			 strerror(errno));
		return DBR_E_CONFIG;
	}
	return check_owner_mode("folder", dir, &st, msg, size);
}

int dbr__plugin_open(const char *dir, const char *why, const char *type,
		     const char *builtins, void **dl,
		     dbr_driver_entry_fn *entry, char **path, char *msg,
		     size_t msgsize)
{
	char name[40];
	void *h, *sym;
	int rc;

	*dl = NULL;
	snprintf(name, sizeof(name), "%s.so", type);
	*path = dbr__path_join(dir, name);
	if (!*path)
		return DBR_E_NOMEM;
	rc = check_file(dir, why, *path, builtins, msg, msgsize);
	if (rc)
		return rc;
	dlerror();
	h = dlopen(*path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(msg, msgsize, "plugin '%s' cannot be loaded: %s",
			 *path, dlerror());
		return DBR_E_CONFIG;
	}
	sym = dlsym(h, DBR_DRIVER_ENTRY_SYMBOL);
	if (!sym) {
		snprintf(msg, msgsize, "plugin '%s' has no entry symbol '%s'",
			 *path, DBR_DRIVER_ENTRY_SYMBOL);
		dlclose(h);
		return DBR_E_CONFIG;
	}
	/* POSIX guarantees a data pointer from dlsym() converts back to the
	 * function pointer it names. */
	memcpy(entry, &sym, sizeof(*entry));
	*dl = h;
	return DBR_OK;
}

void dbr__plugin_close(void *dl)
{
	if (dl)
		dlclose(dl);
}
