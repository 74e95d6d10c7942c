/*
 * plugin.c - the plugin folder and the checks a plugin passes before it is
 * loaded into the process.
 */
#define _GNU_SOURCE /* dladdr(), secure_getenv() */
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

#include "config.h"
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
	/* Ignored in a set-user-ID or set-group-ID program: its user does
	 * not choose what it loads. */
	const char *env = secure_getenv("DBROUTE_PLUGIN_DIR");

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
static int check_owner_mode(const char *noun, const char *what,
			    const char *path, const struct stat *st, char *msg,
			    size_t size)
{
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(msg, size,
			 "%s %s '%s' is writable by group or others "
			 "(mode %04o); refusing to load it",
			 noun, what, path, (unsigned)(st->st_mode & 07777));
		return DBR_E_CONFIG;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(msg, size,
			 "%s %s '%s' is owned by uid %u, neither root nor "
			 "the current user; refusing to load it",
			 noun, what, path, (unsigned)st->st_uid);
		return DBR_E_CONFIG;
	}
	return DBR_OK;
}

/* A folder: as a file, but a root-owned sticky folder (/tmp) is safe. */
static int check_folder(const char *noun, const char *path,
			const struct stat *st, char *msg, size_t size)
{
	if (!S_ISDIR(st->st_mode)) {
		snprintf(msg, size, "%s folder '%s' is not a folder", noun,
			 path);
		return DBR_E_CONFIG;
	}
	if (st->st_uid == 0 && (st->st_mode & S_ISVTX))
		return DBR_OK;
	return check_owner_mode(noun, "folder", path, st, msg, size);
}

/* The most symlinks followed on one path, as the kernel's ELOOP limit. */
#define MAX_LINKS 40

/*
 * A path being resolved: `cur` the folders resolved so far ("" for /),
 * each of them checked; `rest` what remains to walk.
 */
struct walk {
	char cur[PATH_MAX];
	char rest[2 * PATH_MAX];
	size_t len; /* of cur */
	unsigned links;
	char link[PATH_MAX]; /* the last symlink followed, for messages */
	const char *noun;    /* "plugin" or "extension", for messages */
};

/* Follow the symlink at w->cur (just lstat'ed as st): its target replaces
 * the component, and an absolute one restarts at /. */
static int follow(struct walk *w, const struct stat *st, const char *next,
		  char *msg, size_t size)
{
	char target[PATH_MAX], ebuf[128];
	ssize_t n;
	int len;

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(msg, size,
			 "symlink '%s' is owned by uid %u, neither root nor "
			 "the current user; refusing to follow it",
			 w->cur, (unsigned)st->st_uid);
		return DBR_E_CONFIG;
	}
	if (++w->links > MAX_LINKS) {
		snprintf(msg, size, "more than %d symlinks at '%s'", MAX_LINKS,
			 w->cur);
		return DBR_E_CONFIG;
	}
	n = readlink(w->cur, target, sizeof(target) - 1);
	if (n <= 0) {
		snprintf(msg, size, "symlink '%s': %s", w->cur,
			 n < 0 ? dbr__errno_text(errno, ebuf, sizeof(ebuf))
			       : "empty");
		return DBR_E_CONFIG;
	}
	target[n] = '\0';
	memcpy(w->link, w->cur, w->len + 1);
	/* Back to the folder holding the link, or to / for an absolute one. */
	while (w->len && w->cur[w->len] != '/')
		w->len--;
	if (target[0] == '/')
		w->len = 0;
	w->cur[w->len] = '\0';
	len = snprintf(target + n, sizeof(target) - (size_t)n, "%s", next);
	if (len < 0 || (size_t)len >= sizeof(target) - (size_t)n) {
		snprintf(msg, size, "the path through '%s' is too long",
			 w->link);
		return DBR_E_CONFIG;
	}
	memcpy(w->rest, target, strlen(target) + 1);
	return DBR_OK;
}

/* Step into the next component of w->rest, checking what it reaches. */
static int step(struct walk *w, char *msg, size_t size)
{
	char *p = w->rest, *next, ebuf[128];
	struct stat st;
	size_t n;

	while (*p == '/')
		p++;
	n = strcspn(p, "/");
	next = p + n;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
		/* "..": back to a folder already checked. */
		while (n == 2 && w->len && w->cur[--w->len] != '/')
			;
		w->cur[w->len] = '\0';
		memmove(w->rest, next, strlen(next) + 1);
		return DBR_OK;
	}
	if (w->len + 1 + n >= sizeof(w->cur)) {
		snprintf(msg, size, "the path '%s...' is too long", w->cur);
		return DBR_E_CONFIG;
	}
	w->cur[w->len++] = '/';
	memcpy(w->cur + w->len, p, n);
	w->len += n;
	w->cur[w->len] = '\0';
	if (lstat(w->cur, &st)) {
		snprintf(msg, size, "'%s': %s", w->cur,
			 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
		return DBR_E_CONFIG;
	}
	if (S_ISLNK(st.st_mode))
		return follow(w, &st, next, msg, size);
	memmove(w->rest, next, strlen(next) + 1);
	/* The last component is the file, checked on its descriptor. */
	if (!w->rest[strspn(w->rest, "/")])
		return DBR_OK;
	return check_folder(w->noun, w->cur, &st, msg, size);
}

/*
 * Resolve `path` as the kernel does, one component at a time, made
 * absolute first: every folder it passes through, on the path as written
 * and on every symlink's target, must be safe (check_folder()), and every
 * symlink on the way owned by root or the current user (as the kernel's
 * protected_symlinks rule, whatever the sysctl says): whoever could change
 * one of them could lead the path elsewhere. The resolved path goes into
 * real (PATH_MAX bytes).
 */
static int walk_path(const char *noun, const char *path, char *real, char *msg,
		     size_t size)
{
	char why[PATH_MAX + 200], ebuf[128], *tail;
	struct walk *w;
	struct stat st;
	int rc = DBR_OK;

	w = dbr__malloc(sizeof(*w));
	if (!w) {
		snprintf(msg, size, "out of memory");
		return DBR_E_NOMEM;
	}
	w->cur[0] = '\0';
	w->len = 0;
	w->links = 0;
	w->link[0] = '\0';
	w->noun = noun;
	tail = w->rest;
	if (path[0] != '/') {
		if (!getcwd(w->rest, PATH_MAX)) {
			snprintf(why, sizeof(why), "the current folder: %s",
				 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
			rc = DBR_E_CONFIG;
			goto out;
		}
		tail = w->rest + strlen(w->rest);
		*tail++ = '/';
	}
	if (strlen(path) >= sizeof(w->rest) - (size_t)(tail - w->rest)) {
		snprintf(why, sizeof(why), "the path is too long");
		rc = DBR_E_CONFIG;
		goto out;
	}
	memcpy(tail, path, strlen(path) + 1);
	if (lstat("/", &st))
		st.st_mode = 0;
	rc = check_folder(noun, "/", &st, why, sizeof(why));
	while (!rc && w->rest[strspn(w->rest, "/")])
		rc = step(w, why, sizeof(why));
	if (!rc)
		snprintf(real, PATH_MAX, "%s", w->len ? w->cur : "/");
out:
	if (rc && w->link[0] &&
	    snprintf(msg, size, "through symlink '%s': %s", w->link, why) >=
		    (int)size)
		dbr__copy_text(msg + size - 4, 4, "..."); /* cut: say so */
	else if (rc && !w->link[0])
		dbr__copy_text(msg, size, why);
	dbr__free(w);
	return rc;
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

/* The checks on the opened file, the path to it and its ELF headers. */
static int check_fd(const char *noun, int fd, const char *path, char *real,
		    char *msg, size_t size)
{
	char reason[PATH_MAX + 300], ebuf[128];
	struct stat st, now;
	int rc;

	if (fstat(fd, &st)) {
		snprintf(msg, size, "%s '%s' cannot be loaded: %s", noun, path,
			 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
		return DBR_E_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, size, "%s '%s' is not a regular file", noun,
			 path);
		return DBR_E_CONFIG;
	}
	rc = check_owner_mode(noun, "file", path, &st, msg, size);
	if (rc)
		return rc;
	rc = walk_path(noun, path, real, reason, sizeof(reason));
	if (rc) {
		snprintf(msg, size, "%s '%s': %s", noun, path, reason);
		return rc;
	}
	/* Nobody else can change the path walked: it leads to this file
	 * unless root or this user changed it meanwhile. */
	if (stat(real, &now) || now.st_dev != st.st_dev ||
	    now.st_ino != st.st_ino) {
		snprintf(msg, size,
			 "%s '%s' cannot be loaded: it changed while it "
			 "was checked",
			 noun, path);
		return DBR_E_CONFIG;
	}
	rc = check_elf_fd(fd, (uint64_t)st.st_size, reason, sizeof(reason));
	if (rc)
		snprintf(msg, size, "%s '%s' cannot be loaded: %s", noun, path,
			 reason);
	return rc;
}

int dbr__native_check(const char *noun, const char *path, char *real,
		      size_t realsize, char *msg, size_t msgsize)
{
	char resolved[PATH_MAX], ebuf[128];
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		snprintf(msg, msgsize, "%s '%s' cannot be opened: %s", noun,
			 path,
			 e == ENOENT && !lstat(path, &st)
				 ? "a symlink to a missing file"
				 : dbr__errno_text(e, ebuf, sizeof(ebuf)));
		return DBR_E_CONFIG;
	}
	rc = check_fd(noun, fd, path, resolved, msg, msgsize);
	close(fd);
	if (!rc && dbr__copy_text(real, realsize, resolved)) {
		snprintf(msg, msgsize, "%s '%s': its real path is too long",
			 noun, path);
		rc = DBR_E_CONFIG;
	}
	return rc;
}

/*
 * Why open() could not open `path` (errno e): DBR__PLUGIN_MISSING when
 * nothing is there, so the search goes on; else the error. A file that is
 * there is never passed over: a dangling symlink is an error, and so is a
 * plugin folder that is not a folder (ENOTDIR).
 */
static int not_opened(int e, const char *path, const char *why, char *msg,
		      size_t size)
{
	const char *what = NULL;
	char ebuf[128];
	struct stat st;

	if (e == ENOENT) {
		if (!lstat(path, &st))
			what = "a symlink to a missing file";
		else if (errno == ENOENT)
			return DBR__PLUGIN_MISSING;
		else
			e = errno;
	}
	if (!what)
		what = dbr__errno_text(e, ebuf, sizeof(ebuf));
	snprintf(msg, size,
		 "plugin '%s' (plugin folder %s) cannot be opened: %s", path,
		 why, what);
	return DBR_E_CONFIG;
}

/* Open `<type>.so` in the first folder that has it; *path receives the
 * path tried last (owned). */
static int open_first(const struct dbr__plugin_dirs *dirs, const char *type,
		      int *fdp, char **path, char *msg, size_t msgsize)
{
	char name[40];
	size_t i;
	int rc;

	snprintf(name, sizeof(name), "%s.so", type);
	for (i = 0; i < dirs->n; i++) {
		dbr__free(*path);
		*path = dbr__path_join(dirs->dir[i], name);
		if (!*path)
			return DBR_E_NOMEM;
		*fdp = open(*path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (*fdp >= 0)
			return DBR_OK;
		rc = not_opened(errno, *path, dirs->why[i], msg, msgsize);
		if (rc != DBR__PLUGIN_MISSING)
			return rc;
	}
	dbr__plugin_tried(dirs, type, msg, msgsize);
	return DBR__PLUGIN_MISSING;
}

int dbr__plugin_resolve(const struct dbr__plugin_dirs *dirs, const char *type,
			char **real, char *msg, size_t msgsize)
{
	char buf[PATH_MAX], ebuf[128], *path = NULL;
	int fd, rc;

	*real = NULL;
	rc = open_first(dirs, type, &fd, &path, msg, msgsize);
	if (rc) {
		dbr__free(path);
		return rc;
	}
	if (realpath(path, buf)) {
		*real = dbr__strdup(buf);
		rc = *real ? DBR_OK : DBR_E_NOMEM;
	} else {
		snprintf(msg, msgsize, "plugin '%s' cannot be resolved: %s",
			 path, dbr__errno_text(errno, ebuf, sizeof(ebuf)));
		rc = DBR_E_CONFIG;
	}
	close(fd);
	dbr__free(path);
	return rc;
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
			names[n][len - 3] = '\0';
			if (dbr__config_type_ok(names[n]))
				n++;
		}
		closedir(d);
	}
	return n;
}

int dbr__plugin_open(const struct dbr__plugin_dirs *dirs, const char *type,
		     void **dl, int *fdp, dbr_driver_entry_fn *entry,
		     char **path, char **real, char *msg, size_t msgsize)
{
	char resolved[PATH_MAX];
	struct stat was, now;
	void *h, *sym;
	int fd, rc;

	*dl = NULL;
	*fdp = -1;
	*real = NULL;
	*path = NULL;
	/* Opened once: what is checked is what is loaded. */
	rc = open_first(dirs, type, &fd, path, msg, msgsize);
	if (rc)
		return rc;
	rc = check_fd("plugin", fd, *path, resolved, msg, msgsize);
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
