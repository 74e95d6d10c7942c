/*
 * plugin.c - the plugin folder and the checks a plugin passes before it is
 * loaded into the process.
 */
#define _GNU_SOURCE /* dladdr() */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
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

/*
 * The installed folder, found from where the shared library itself lies:
 * `<libdir>/dbroute/plugins.d` next to the library file, so an installed
 * copy works from any prefix. A static link cannot know where its library
 * was installed (the code is inside the program), so it uses the folder
 * configured at build time (DBR_INSTALL_PLUGIN_DIR), as does a library
 * whose own path cannot be resolved.
 */
static char installed[PATH_MAX];
static pthread_once_t installed_once = PTHREAD_ONCE_INIT;

static void find_installed_dir(void)
{
	static const char sub[] = "/dbroute/plugins.d";
	Dl_info self, prog;
	void *phdr = (void *)getauxval(AT_PHDR);
	char real[PATH_MAX], *slash;
	size_t len;

	snprintf(installed, sizeof(installed), "%s", DBR_INSTALL_PLUGIN_DIR);
	if (!dladdr(&anchor, &self) || !self.dli_fname || !self.dli_fbase)
		return;
	/* Inside the main program: a static link. */
	if (!phdr || (dladdr(phdr, &prog) && prog.dli_fbase == self.dli_fbase))
		return;
	if (!realpath(self.dli_fname, real))
		return;
	slash = strrchr(real, '/');
	if (!slash)
		return;
	len = (size_t)(slash - real);
	if (len + sizeof(sub) > sizeof(installed))
		return;
	memcpy(installed, real, len);
	memcpy(installed + len, sub, sizeof(sub));
}

static const char *installed_dir(void)
{
	(void)pthread_once(&installed_once, find_installed_dir);
	return installed;
}

static void add_dir(struct dbr__plugin_dirs *out, const char *dir,
		    const char *why)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (!strcmp(out->dir[i], dir))
			return;
	out->dir[out->n] = dir;
	out->why[out->n++] = why;
}

void dbr__plugin_dirs(const char *configured, struct dbr__plugin_dirs *out)
{
	const char *env = getenv("DBROUTE_PLUGIN_DIR");

	out->n = 0;
	if (env && *env)
		add_dir(out, env, "from DBROUTE_PLUGIN_DIR");
	if (configured && *configured)
		add_dir(out, configured, "from plugin_dir");
	if (in_build_tree())
		add_dir(out, DBR_BUILD_DIR "/plugins.d",
			"the build tree's default");
	else
		add_dir(out, installed_dir(), "the installed default");
}

void dbr__plugin_tried(const struct dbr__plugin_dirs *dirs, const char *type,
		       char *buf, size_t size)
{
	size_t i, len = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < dirs->n && len < size; i++) {
		n = snprintf(buf + len, size - len,
			     "%s'%s/%s.so' (plugin folder "
			     "%s)",
			     i ? ", " : "", dirs->dir[i], type, dirs->why[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
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

/* A folder: as a file, but a root-owned sticky folder (/tmp) is safe. */
static int check_folder(const char *path, char *msg, size_t size)
{
	char ebuf[128];
	struct stat st;

	if (stat(path, &st)) {
		snprintf(msg, size, "plugin folder '%s': %s", path,
			 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
		return DBR_E_CONFIG;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, size, "plugin folder '%s' is not a folder", path);
		return DBR_E_CONFIG;
	}
	if (st.st_uid == 0 && (st.st_mode & S_ISVTX))
		return DBR_OK;
	return check_owner_mode("folder", path, &st, msg, size);
}

/* Every folder on an absolute, resolved path, from its parent up to /. */
static int check_folders(const char *real, char *msg, size_t size)
{
	char buf[PATH_MAX], *slash;
	int rc;

	snprintf(buf, sizeof(buf), "%s", real);
	while ((slash = strrchr(buf, '/')) != NULL) {
		if (slash == buf) {
			slash[1] = '\0';
			return check_folder(buf, msg, size);
		}
		*slash = '\0';
		rc = check_folder(buf, msg, size);
		if (rc)
			return rc;
	}
	return DBR_OK;
}

#if __SIZEOF_POINTER__ == 8
typedef Elf64_Ehdr elf_ehdr;
typedef Elf64_Phdr elf_phdr;
#define ELF_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr elf_ehdr;
typedef Elf32_Phdr elf_phdr;
#define ELF_CLASS ELFCLASS32
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ELF_DATA ELFDATA2LSB
#else
#define ELF_DATA ELFDATA2MSB
#endif

/* This process's machine (0 when unknown: not checked). */
#if defined(__x86_64__)
#define ELF_MACHINE EM_X86_64
#elif defined(__i386__)
#define ELF_MACHINE EM_386
#elif defined(__aarch64__)
#define ELF_MACHINE EM_AARCH64
#elif defined(__arm__)
#define ELF_MACHINE EM_ARM
#elif defined(__riscv)
#define ELF_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define ELF_MACHINE EM_PPC64
#elif defined(__powerpc__)
#define ELF_MACHINE EM_PPC
#elif defined(__s390x__) || defined(__s390__)
#define ELF_MACHINE EM_S390
#elif defined(__loongarch__)
#define ELF_MACHINE EM_LOONGARCH
#else
#define ELF_MACHINE 0
#endif

/* Read exactly n bytes at off, or fail. */
static bool read_at(int fd, void *buf, size_t n, off_t off)
{
	ssize_t got = pread(fd, buf, n, off);

	return got >= 0 && (size_t)got == n;
}

/*
 * The checks dlopen() does not make before it maps the file: a truncated
 * file would be mapped past its end and fault (SIGBUS) on first touch.
 */
static int check_elf_fd(int fd, uint64_t size, char *reason, size_t rsize)
{
	elf_ehdr eh;
	elf_phdr ph;
	uint64_t end;
	unsigned i;

	if (size < EI_NIDENT || !read_at(fd, &eh, EI_NIDENT, 0) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		snprintf(reason, rsize, "not an ELF file");
		return DBR_E_CONFIG;
	}
	if (eh.e_ident[EI_CLASS] != ELF_CLASS) {
		snprintf(reason, rsize,
			 "built for another word size (ELF class %u, this is "
			 "%u)",
			 eh.e_ident[EI_CLASS], ELF_CLASS);
		return DBR_E_CONFIG;
	}
	if (eh.e_ident[EI_DATA] != ELF_DATA) {
		snprintf(reason, rsize,
			 "built for another byte order (ELF data %u, this is "
			 "%u)",
			 eh.e_ident[EI_DATA], ELF_DATA);
		return DBR_E_CONFIG;
	}
	if (size < sizeof(eh) || !read_at(fd, &eh, sizeof(eh), 0)) {
		snprintf(reason, rsize,
			 "truncated: the ELF header ends at %zu but the file "
			 "has %llu bytes",
			 sizeof(eh), (unsigned long long)size);
		return DBR_E_CONFIG;
	}
	if (ELF_MACHINE && eh.e_machine != ELF_MACHINE) {
		snprintf(reason, rsize,
			 "built for another architecture (machine %u, this is "
			 "%u)",
			 (unsigned)eh.e_machine, (unsigned)ELF_MACHINE);
		return DBR_E_CONFIG;
	}
	if (eh.e_type != ET_DYN) {
		snprintf(reason, rsize,
			 "not a shared object (ELF type %u, expected %u)",
			 (unsigned)eh.e_type, (unsigned)ET_DYN);
		return DBR_E_CONFIG;
	}
	if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(ph)) {
		snprintf(reason, rsize,
			 "malformed: %u program headers of %u bytes",
			 (unsigned)eh.e_phnum, (unsigned)eh.e_phentsize);
		return DBR_E_CONFIG;
	}
	end = (uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ph);
	if (end > size) {
		snprintf(reason, rsize,
			 "truncated: program headers end at %llu but the file "
			 "has %llu bytes",
			 (unsigned long long)end, (unsigned long long)size);
		return DBR_E_CONFIG;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (!read_at(fd, &ph, sizeof(ph),
			     (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph)))) {
			snprintf(reason, rsize, "cannot read program header %u",
				 i);
			return DBR_E_CONFIG;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		end = (uint64_t)ph.p_offset + (uint64_t)ph.p_filesz;
		if (end < (uint64_t)ph.p_offset || end > size) {
			snprintf(reason, rsize,
				 "truncated: segment ends at %llu but the file "
				 "has %llu bytes",
				 (unsigned long long)end,
				 (unsigned long long)size);
			return DBR_E_CONFIG;
		}
	}
	/* At the file's end: the first thing a truncation loses. */
	end = (uint64_t)eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
	if (eh.e_shoff && end > size) {
		snprintf(reason, rsize,
			 "truncated: section headers end at %llu but the file "
			 "has %llu bytes",
			 (unsigned long long)end, (unsigned long long)size);
		return DBR_E_CONFIG;
	}
	return DBR_OK;
}

/*
 * The file an open descriptor reads, resolved: every folder on the way is
 * checked by name, so the name must still lead to this very file.
 */
static int fd_real_path(int fd, const char *path, const struct stat *st,
			char *real, size_t size)
{
	char link[40];
	struct stat now;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, size - 1);
	if (n > 0 && (size_t)n < size - 1) {
		real[n] = '\0';
	} else {
		/* No /proc (a chroot): the name, resolved, must lead here. */
		char buf[PATH_MAX];

		if (!path || size < sizeof(buf) || !realpath(path, buf))
			return -1;
		memcpy(real, buf, strlen(buf) + 1);
	}
	if (real[0] != '/' || stat(real, &now) || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino)
		return -1;
	return 0;
}

/* The checks on the opened file, its folders and its ELF headers. */
static int check_fd(int fd, const char *dir, const char *path, char *real,
		    size_t realsize, char *msg, size_t size)
{
	char reason[PATH_MAX + 200], ebuf[128];
	struct stat st;
	int rc;

	if (fstat(fd, &st)) {
		snprintf(msg, size, "plugin '%s' cannot be loaded: %s", path,
			 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
		return DBR_E_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, size, "plugin '%s' is not a regular file", path);
		return DBR_E_CONFIG;
	}
	rc = check_owner_mode("file", path, &st, msg, size);
	if (!rc)
		rc = check_folder(dir, msg, size);
	if (rc)
		return rc;
	if (fd_real_path(fd, path, &st, real, realsize)) {
		snprintf(msg, size,
			 "plugin '%s' cannot be loaded: its resolved path "
			 "cannot be found",
			 path);
		return DBR_E_CONFIG;
	}
	/* Every folder on the real path, whether or not a link led there:
	 * whoever may rename one of them may swap the plugin. */
	rc = strcmp(real, path) ? check_owner_mode("file", real, &st, reason,
						   sizeof(reason))
				: DBR_OK;
	if (!rc)
		rc = check_folders(real, reason, sizeof(reason));
	if (rc) {
		if (strcmp(real, path))
			snprintf(msg, size, "plugin '%s' resolves to '%s': %s",
				 path, real, reason);
		else
			snprintf(msg, size, "plugin '%s': %s", path, reason);
		return rc;
	}
	rc = check_elf_fd(fd, (uint64_t)st.st_size, reason, sizeof(reason));
	if (rc)
		snprintf(msg, size, "plugin '%s' cannot be loaded: %s", path,
			 reason);
	return rc;
}

/* Whether a failed open() means "not in this folder": search on. */
static bool not_here(int e)
{
	return e == ENOENT || e == ENOTDIR;
}

char *dbr__plugin_resolve(const struct dbr__plugin_dirs *dirs, const char *type)
{
	char name[40], buf[PATH_MAX], *path, *real = NULL;
	size_t i;

	snprintf(name, sizeof(name), "%s.so", type);
	errno = ENOENT;
	for (i = 0; i < dirs->n && !real; i++) {
		path = dbr__path_join(dirs->dir[i], name);
		if (!path) {
			errno = ENOMEM;
			return NULL;
		}
		if (realpath(path, buf)) {
			real = dbr__strdup(buf);
			if (!real)
				errno = ENOMEM;
			dbr__free(path);
			return real;
		}
		dbr__free(path);
		if (!not_here(errno))
			return NULL;
	}
	errno = ENOENT;
	return NULL;
}

size_t dbr__plugin_types(const struct dbr__plugin_dirs *dirs, char (*names)[33],
			 size_t max)
{
	struct dirent *e;
	size_t i, n = 0, len;
	DIR *d;

	for (i = 0; i < dirs->n; i++) {
		d = opendir(dirs->dir[i]);
		if (!d)
			continue;
		while (n < max && (e = readdir(d)) != NULL) {
			len = strlen(e->d_name);
			if (len < 4 || len - 3 > 32 ||
			    strcmp(e->d_name + len - 3, ".so"))
				continue;
			memcpy(names[n], e->d_name, len - 3);
			names[n++][len - 3] = '\0';
		}
		closedir(d);
	}
	return n;
}

/* Open `<type>.so` in the first folder that has it. */
static int open_first(const struct dbr__plugin_dirs *dirs, const char *type,
		      int *fdp, size_t *which, char **path, char *msg,
		      size_t msgsize)
{
	char name[40], ebuf[128];
	size_t i;

	snprintf(name, sizeof(name), "%s.so", type);
	for (i = 0; i < dirs->n; i++) {
		dbr__free(*path);
		*path = dbr__path_join(dirs->dir[i], name);
		if (!*path)
			return DBR_E_NOMEM;
		*fdp = open(*path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (*fdp >= 0) {
			*which = i;
			return DBR_OK;
		}
		if (!not_here(errno)) {
			snprintf(msg, msgsize,
				 "plugin '%s' (plugin folder %s) cannot be "
				 "opened: %s",
				 *path, dirs->why[i],
				 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
			return DBR_E_CONFIG;
		}
	}
	dbr__plugin_tried(dirs, type, msg, msgsize);
	return DBR__PLUGIN_MISSING;
}

int dbr__plugin_open(const struct dbr__plugin_dirs *dirs, const char *type,
		     void **dl, int *fdp, dbr_driver_entry_fn *entry,
		     char **path, char **real, char *msg, size_t msgsize)
{
	char resolved[PATH_MAX];
	struct stat was, now;
	size_t which = 0;
	void *h, *sym;
	int fd, rc;

	*dl = NULL;
	*fdp = -1;
	*real = NULL;
	*path = NULL;
	/* Opened once: what is checked is what is loaded. */
	rc = open_first(dirs, type, &fd, &which, path, msg, msgsize);
	if (rc)
		return rc;
	rc = check_fd(fd, dirs->dir[which], *path, resolved, sizeof(resolved),
		      msg, msgsize);
	if (rc) {
		close(fd);
		return rc;
	}
	/*
	 * Loaded by its real path, so that $ORIGIN in the plugin's own RPATH
	 * means its folder. That path was checked (every folder on it safe:
	 * nobody else may swap the file); the loaded object must still be the
	 * very file the descriptor reads.
	 */
	dlerror();
	h = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(msg, msgsize, "plugin '%s' cannot be loaded: %s",
			 *path, dlerror());
		close(fd);
		return DBR_E_CONFIG;
	}
	if (fstat(fd, &was) || stat(resolved, &now) ||
	    was.st_dev != now.st_dev || was.st_ino != now.st_ino) {
		snprintf(msg, msgsize,
			 "plugin '%s' cannot be loaded: the file changed "
			 "while it was loaded",
			 *path);
		dbr__plugin_close(h, fd);
		return DBR_E_CONFIG;
	}
	sym = dlsym(h, DBR_DRIVER_ENTRY_SYMBOL);
	if (!sym) {
		snprintf(msg, msgsize, "plugin '%s' has no entry symbol '%s'",
			 *path, DBR_DRIVER_ENTRY_SYMBOL);
		dbr__plugin_close(h, fd);
		return DBR_E_CONFIG;
	}
	*real = dbr__strdup(resolved);
	if (!*real) {
		dbr__plugin_close(h, fd);
		return DBR_E_NOMEM;
	}
	/* POSIX guarantees a data pointer from dlsym() converts back to the
	 * function pointer it names. */
	memcpy(entry, &sym, sizeof(*entry));
	*dl = h;
	*fdp = fd;
	return DBR_OK;
}

void dbr__plugin_close(void *dl, int fd)
{
	if (dl)
		dlclose(dl);
	if (fd >= 0)
		close(fd);
}
