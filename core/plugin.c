/*
 * plugin.c - the plugin folder and the checks a plugin passes before it is
 * loaded into the process.
 */
#define _GNU_SOURCE /* dladdr() */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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

/* Refuse a file dlopen() would fault on or reject with a vague reason. */
static int check_elf(const char *path, char *msg, size_t size)
{
	char reason[200];
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, size, "plugin '%s' cannot be loaded: %s", path,
			 strerror(errno));
		return DBR_E_CONFIG;
	}
	if (fstat(fd, &st)) {
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		rc = DBR_E_CONFIG;
	} else {
		rc = check_elf_fd(fd, (uint64_t)st.st_size, reason,
				  sizeof(reason));
	}
	close(fd);
	if (rc)
		snprintf(msg, size, "plugin '%s' cannot be loaded: %s", path,
			 reason);
	return rc;
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
	if (!rc)
		rc = check_elf(*path, msg, msgsize);
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
