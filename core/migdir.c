/*
 * migdir.c - a folder of migration files read whole (migrate.h): each
 * NNNN_name[.TYPE].sql file's number, variant type, text and SHA-256, in
 * order; other entries reported as strays.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "migrate.h"

static int cmp_file(const void *a, const void *b)
{
	const struct dbr__migfile *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->type, y->type);
}

/*
 * Parse NNNN_name.sql or NNNN_name.TYPE.sql: 1 when it is one, 0 when it
 * is not (*why says why), -1 for a number beyond int64.
 */
static int parse_name(const char *name, int64_t *version, char *type,
		      const char **why)
{
	const char *p = name, *body, *end, *dot;
	bool big = false;
	int64_t v = 0;

	*why = "not NNNN_name.sql";
	for (; *p >= '0' && *p <= '9'; p++) {
		big = big || v > (INT64_MAX - (*p - '0')) / 10;
		v = big ? 0 : v * 10 + (*p - '0');
	}
	if (p == name || *p != '_')
		return 0;
	body = p + 1;
	end = name + strlen(name);
	if (end - body < 5 || strcmp(end - 4, ".sql"))
		return 0;
	end -= 4;
	type[0] = '\0';
	dot = memchr(body, '.', (size_t)(end - body));
	if (dot) {
		if (dot == body ||
		    memchr(dot + 1, '.', (size_t)(end - dot - 1)) ||
		    end - dot - 1 > 32)
			return 0;
		memcpy(type, dot + 1, (size_t)(end - dot - 1));
		type[end - dot - 1] = '\0';
		if (!dbr__config_type_ok(type)) {
			*why = "not NNNN_name.TYPE.sql with a driver type";
			return 0;
		}
	}
	*version = v;
	return big ? -1 : 1;
}

static void sha256_hex(const char *text, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (!EVP_Digest(text, len, md, &n, EVP_sha256(), NULL))
		n = 0;
	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * i] = '\0';
}

/* Read dir/name into f->text; f->name is set. */
static int read_file(int dfd, const char *dir, struct dbr__migfile *f,
		     struct dbr_error *err)
{
	/* O_NONBLOCK: a FIFO named like a migration must not block. */
	int fd = openat(dfd, f->name,
			O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char ebuf[128];
	ssize_t got = 0;
	size_t n = 0;
	int rc = DBR_OK;
	bool sys = fd < 0 || fstat(fd, &st);

	if (sys || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)DBR__MIGRATE_MAX_FILE) {
		rc = dbr__error_set(
			err, DBR_E_CONFIG, NULL, "%s/%s: cannot read: %s", dir,
			f->name,
			sys ? dbr__errno_text(errno, ebuf, sizeof(ebuf))
			    : "not a regular file of at most 16 MiB");
		goto out;
	}
	f->text = dbr__malloc((size_t)st.st_size + 1);
	if (!f->text) {
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
		goto out;
	}
	while (n < (size_t)st.st_size &&
	       (got = read(fd, f->text + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)got;
	f->text[n] = '\0';
	f->len = n;
	if (got < 0)
		rc = dbr__error_set(err, DBR_E_CONFIG, NULL,
				    "%s/%s: cannot read: %s", dir, f->name,
				    dbr__errno_text(errno, ebuf, sizeof(ebuf)));
	else if (memchr(f->text, '\0', n))
		rc = dbr__error_set(err, DBR_E_CONFIG, NULL,
				    "%s/%s: a NUL byte: not a text file", dir,
				    f->name);
	else
		sha256_hex(f->text, n, f->sha256);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Add one entry of the folder: a file read, or a stray reported. */
static int add_entry(struct dbr__migdir *out, size_t *cap, int dfd,
		     const char *path, const char *name,
		     dbr__migdir_stray_fn stray, void *ud,
		     struct dbr_error *err)
{
	struct dbr__migfile *f;
	const char *why;
	char type[33];
	int64_t v;
	int kind = parse_name(name, &v, type, &why);

	if (kind < 0)
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "%s/%s: the number is too large", path,
				      name);
	if (!kind) {
		if (stray)
			stray(ud, name, why);
		return DBR_OK;
	}
	if (dbr__grow(&out->files, cap, out->n + 1, sizeof(*out->files)))
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	f = &out->files[out->n];
	memset(f, 0, sizeof(*f));
	f->version = v;
	memcpy(f->type, type, sizeof(type));
	f->name = dbr__strdup(name);
	if (!f->name)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	out->n++;
	return read_file(dfd, path, f, err);
}

int dbr__migdir_read(const char *path, struct dbr__migdir *out,
		     dbr__migdir_stray_fn stray, void *ud,
		     struct dbr_error *err)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t cap = 0, i;
	char ebuf[128];
	int rc = DBR_OK;

	memset(out, 0, sizeof(*out));
	if (!d)
		return dbr__error_set(
			err, DBR_E_CONFIG, NULL, "migrations folder '%s': %s",
			path, dbr__errno_text(errno, ebuf, sizeof(ebuf)));
	while (!rc && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = add_entry(out, &cap, dirfd(d), path, e->d_name,
				       stray, ud, err);
	closedir(d);
	if (!rc && out->n)
		qsort(out->files, out->n, sizeof(*out->files), cmp_file);
	for (i = 1; !rc && i < out->n; i++)
		if (!cmp_file(&out->files[i - 1], &out->files[i]))
			rc = dbr__error_set(err, DBR_E_CONFIG, NULL,
					    "migrations folder '%s': '%s' and "
					    "'%s' have the same number",
					    path, out->files[i - 1].name,
					    out->files[i].name);
	if (rc)
		dbr__migdir_release(out);
	return rc;
}

void dbr__migdir_release(struct dbr__migdir *dir)
{
	size_t i;

	if (!dir)
		return;
	for (i = 0; i < dir->n; i++) {
		dbr__free(dir->files[i].name);
		dbr__free(dir->files[i].text);
	}
	dbr__free(dir->files);
	memset(dir, 0, sizeof(*dir));
}
