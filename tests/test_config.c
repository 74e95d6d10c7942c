/*
 * test_config.c - the INI configuration: every valid form loads with the
 * values it says, every malformed file in tests/config/bad_*.ini yields
 * exactly the problems in its .expected file.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "helpers.h"

#define CONFIG_DIR DBR_TEST_DIR "/config"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in CONFIG_DIR starting with prefix and ending in .ini. */
static size_t list_files(const char *prefix, char ***out)
{
	DIR *d = opendir(CONFIG_DIR);
	struct dirent *e;
	char **v = NULL, **grown;
	size_t n = 0, len;

	assert_non_null(d);
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (strncmp(e->d_name, prefix, strlen(prefix)) || len < 5 ||
		    strcmp(e->d_name + len - 4, ".ini"))
			continue;
		grown = realloc(v, (n + 1) * sizeof(*v));
		assert_non_null(grown);
		v = grown;
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, size_t n)
{
	while (n--)
		free(v[n]);
	free(v);
}

/*
 * The .expected text with @BUILD_PLUGIN_DIR@ replaced by the build tree's
 * plugin folder (searched after plugin_dir, and named in messages).
 */
static char *plugin_dir_expanded(char *text)
{
	static const char var[] = "@BUILD_PLUGIN_DIR@";
	const char *at = text ? strstr(text, var) : NULL;
	char *out;
	size_t n;

	if (!at)
		return text;
	n = strlen(text) + strlen(DBR_BUILD_PLUGIN_DIR) + 1;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text,
		 DBR_BUILD_PLUGIN_DIR, at + strlen(var));
	free(text);
	return plugin_dir_expanded(out);
}

/* Every bad_*.ini fails with exactly its .expected text. */
static void test_config__bad_files_report_file_line(void **state)
{
	char **files, expected_path[512], *expected;
	struct dbr_error err;
	struct dbr *db;
	size_t n, i, len, failures = 0;

	(void)state;
	unsetenv("DBROUTE_PLUGIN_DIR");
	assert_int_equal(chdir(CONFIG_DIR), 0);
	n = list_files("bad_", &files);
	assert_true(n >= 25);
	for (i = 0; i < n; i++) {
		snprintf(expected_path, sizeof(expected_path), "%.*s.expected",
			 (int)(strlen(files[i]) - 4), files[i]);
		expected = plugin_dir_expanded(t_read(expected_path));
		assert_non_null(expected);
		len = strlen(expected);
		while (len && expected[len - 1] == '\n')
			expected[--len] = '\0';
		db = NULL;
		memset(&err, 0, sizeof(err));
		assert_int_equal(dbr_open(&db, files[i], NULL, &err),
				 DBR_E_CONFIG);
		assert_null(db);
		assert_int_equal(err.code, DBR_E_CONFIG);
		if (strcmp(err.message, expected)) {
			fprintf(stderr, "%s:\n  expected: %s\n  got:      %s\n",
				files[i], expected, err.message);
			failures++;
		}
		free(expected);
	}
	free_list(files, n);
	assert_int_equal(failures, 0);
}

static void test_config__good_files_load(void **state)
{
	char **files;
	size_t n, i;

	(void)state;
	assert_int_equal(chdir(CONFIG_DIR), 0);
	n = list_files("good_", &files);
	assert_true(n >= 3);
	for (i = 0; i < n; i++)
		dbr_close(t_open(files[i]));
	free_list(files, n);
}

/* The full example's values, read back through the internal snapshot. */
static void test_config__full_values(void **state)
{
	struct dbr__logger log = { NULL, NULL, DBR_LOG_WARN };
	struct dbr__config *cfg;
	struct dbr_error err;
	const struct dbr_source_config *s;

	(void)state;
	assert_int_equal(
		dbr__config_load(CONFIG_DIR "/good_full.ini", &log, &cfg, &err),
		DBR_OK);
	assert_int_equal(cfg->nsources, 3);
	assert_string_equal(cfg->sources[cfg->default_source].name, "primary");
	assert_string_equal(cfg->plugin_dir, CONFIG_DIR "/plugins.d");
	assert_int_equal(cfg->fallback, DBR__FALLBACK_NONE);
	assert_true(cfg->retry_interval == 2.5);
	assert_int_equal(cfg->log_level, DBR_LOG_ERROR);
	assert_string_equal(cfg->audit_file, "/dev/null");
	s = dbr__config_source(cfg, "primary");
	assert_non_null(s);
	assert_true(s->timeout == 0.5);
	assert_int_equal(s->max_connections, 3);
	assert_false(s->readonly);
	assert_int_equal(s->fallback, DBR__FALLBACK_DEFAULT);
	assert_string_equal(dbr__source_opt(s, "path")->text,
			    CONFIG_DIR "/bot.db");
	s = dbr__config_source(cfg, "archive");
	assert_true(s->readonly);
	assert_int_equal(s->fallback, DBR__FALLBACK_NONE); /* inherited */
	assert_int_equal(s->max_connections, 5);	   /* default */
	assert_true(s->timeout == 30);			   /* default */
	assert_string_equal(dbr__source_opt(s, "path")->text,
			    "/tmp/dbroute-archive-never-opened.db");
	assert_int_equal(cfg->nscopes, 2);
	assert_int_equal(cfg->chats.count, 4);
	assert_int_equal(dbr__chat_table_lookup(&cfg->chats, 42),
			 dbr__config_source(cfg, "archive")->index);
	assert_int_equal(dbr__chat_table_lookup(&cfg->chats, INT64_MIN),
			 dbr__config_source(cfg, "groups")->index);
	assert_int_equal(dbr__chat_table_lookup(&cfg->chats, INT64_MAX),
			 dbr__config_source(cfg, "groups")->index);
	dbr__config_free(cfg);
}

/*
 * [mapping], [move] and [table.NAME] read back: the store's index, the
 * seconds, the convention's column and each table's own or inherited
 * column. (Not in good_full.ini: a handle opened on a store reads it.)
 */
static void test_config__mapping_values(void **state)
{
	static const char text[] =
		"[database]\ndefault_source = a\n"
		"[source.a]\ntype = sqlite\npath = a.db\n"
		"[source.b]\ntype = sqlite\npath = b.db\n"
		"[mapping]\nstore = b\npoll_interval = 0.25\nmax_age = 30\n"
		"[move]\nchat_column = room\n"
		"[table.messages]\n"
		"[table.app.members]\nchat_column = group_id\n";
	struct dbr__logger log = { NULL, NULL, DBR_LOG_WARN };
	struct dbr__config *cfg;
	struct dbr_error err;
	char *dir = t_tmpdir(), *path = t_write(dir, "m.ini", text);

	(void)state;
	assert_int_equal(dbr__config_load(path, &log, &cfg, &err), DBR_OK);
	assert_true(cfg->has_store);
	assert_string_equal(cfg->sources[cfg->store].name, "b");
	assert_true(cfg->poll_interval == 0.25);
	assert_true(cfg->max_age == 30);
	assert_string_equal(cfg->chat_column, "room");
	assert_int_equal(cfg->ntables, 2);
	assert_string_equal(cfg->tables[0].name, "messages");
	assert_string_equal(cfg->tables[0].chat_column, "room");
	assert_string_equal(cfg->tables[1].name, "app.members");
	assert_string_equal(cfg->tables[1].chat_column, "group_id");
	dbr__config_free(cfg);
	/* Without the sections: no store, the defaults. */
	free(path);
	path = t_write(dir, "m.ini",
		       "[source.a]\ntype = sqlite\npath = a.db\n");
	assert_int_equal(dbr__config_load(path, &log, &cfg, &err), DBR_OK);
	assert_false(cfg->has_store);
	assert_string_equal(cfg->chat_column, "chat_id");
	assert_int_equal(cfg->ntables, 0);
	dbr__config_free(cfg);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/*
 * The largest values accepted (good_limits.ini; one more of each is in a
 * bad_*_limit.ini): max_connections = 10000, a Redis port = 65535, a
 * 63-byte source name, which an error reports whole.
 */
static void test_config__limits(void **state)
{
	struct dbr__logger log = { NULL, NULL, DBR_LOG_WARN };
	const struct dbr_source_config *s;
	struct dbr__config *cfg;
	struct dbr_error err;
	char name[64], *dir = t_tmpdir(), *path, text[512];
	struct dbr *db;

	(void)state;
	memset(name, 'n', 63);
	name[63] = '\0';
	assert_int_equal(dbr__config_load(CONFIG_DIR "/good_limits.ini", &log,
					  &cfg, &err),
			 DBR_OK);
	s = dbr__config_source(cfg, name);
	assert_non_null(s);
	assert_int_equal(s->max_connections, 10000);
	s = dbr__config_source(cfg, "cache");
	assert_non_null(s);
	assert_int_equal(dbr__source_opt(s, "port")->v.i, 65535);
	dbr__config_free(cfg);
	/* The whole name reaches struct dbr_error's source field. */
	snprintf(text, sizeof(text),
		 "[source.%s]\ntype = sqlite\n"
		 "path = l.db\nmax_connections = 10000\n",
		 name);
	path = t_write(dir, "l.ini", text);
	db = t_open(path);
	assert_int_equal(
		dbr_query_source(db, name, "SELEC 1", NULL, 0, NULL, &err),
		DBR_E_STMT);
	assert_string_equal(err.source, name);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* CRLF line ends and a UTF-8 byte order mark are read as plain lines. */
static void test_config__crlf_and_bom(void **state)
{
	char *dir = t_tmpdir(), *path;
	char src[DBR_NAME_SIZE];
	struct dbr *db;
	int reason;

	(void)state;
	path = t_write(dir, "crlf.ini",
		       "\xEF\xBB\xBF[database]\r\ndefault_source = a\r\n\r\n"
		       "[source.a]\r\ntype = sqlite\r\npath = a.db\r\n"
		       "[source.b]\r\ntype = sqlite ; comment\r\n"
		       "path = b.db\r\n[chat_mapping]\r\n-5 = b\r\n");
	db = t_open(path);
	dbr_route_chat(db, -5, src, sizeof(src), &reason);
	assert_string_equal(src, "b");
	assert_int_equal(reason, DBR_ROUTE_MAPPED);
	dbr_route_chat(db, 5, src, sizeof(src), &reason);
	assert_string_equal(src, "a");
	assert_int_equal(reason, DBR_ROUTE_DEFAULT);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* A comment after a value needs a blank before ';'; otherwise it is data. */
static void test_config__inline_comments(void **state)
{
	struct dbr__logger log = { NULL, NULL, DBR_LOG_WARN };
	struct dbr__config *cfg;
	struct dbr_error err;

	(void)state;
	assert_int_equal(dbr__config_load(CONFIG_DIR "/good_comments.ini", &log,
					  &cfg, &err),
			 DBR_OK);
	assert_string_equal(cfg->sources[0].drv->type, "sqlite");
	assert_string_equal(dbr__source_opt(&cfg->sources[0], "path")->text,
			    CONFIG_DIR "/a;b.db");
	assert_true(cfg->sources[0].readonly);
	dbr__config_free(cfg);
}

static void test_config__nul_byte(void **state)
{
	char *dir = t_tmpdir(), *path = t_path(dir, "nul.ini");
	static const char text[] = "[source.a]\ntype = sqlite\npath = a\0b\n";
	struct dbr_error err;
	struct dbr *db;
	FILE *f = fopen(path, "w");

	(void)state;
	fwrite(text, 1, sizeof(text) - 1, f);
	fclose(f);
	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	assert_non_null(strstr(err.message, ":3: line contains a NUL byte"));
	t_rmtree(dir);
	free(path);
	free(dir);
}

static void test_config__file_errors(void **state)
{
	char *dir = t_tmpdir();
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	assert_int_equal(dbr_open(&db, "/nonexistent/x.ini", NULL, &err),
			 DBR_E_CONFIG);
	assert_string_equal(err.message, "/nonexistent/x.ini: cannot open: "
					 "No such file or directory");
	assert_int_equal(dbr_open(&db, dir, NULL, &err), DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "is a directory"));
	assert_int_equal(dbr_open(NULL, dir, NULL, &err), DBR_E_MISUSE);
	t_rmtree(dir);
	free(dir);
}

/* Relative paths are resolved against the INI's folder, not the cwd. */
static void test_config__relative_to_file(void **state)
{
	char *dir = t_tmpdir(), *path, *db_path;
	struct dbr *db;

	(void)state;
	path = t_write(dir, "r.ini",
		       "[source.a]\ntype = sqlite\n"
		       "path = here.db\n");
	assert_int_equal(chdir("/"), 0);
	db = t_open(path);
	t_exec(db, 1, "CREATE TABLE t (x)", NULL, 0);
	dbr_close(db);
	db_path = t_path(dir, "here.db");
	assert_int_equal(access(db_path, F_OK), 0);
	assert_int_not_equal(access("/here.db", F_OK), 0);
	t_rmtree(dir);
	free(db_path);
	free(path);
	free(dir);
}

/* Seconds are read the same under an application's LC_NUMERIC with a
 * decimal comma (strtod refused "2.5" there). */
static void test_config__numbers_ignore_locale(void **state)
{
	char *dir = t_tmpdir(), *path;
	struct dbr_error err;
	struct dbr *db = NULL;
	int rc;

	(void)state;
	path = t_write(dir, "l.ini",
		       "[source.a]\ntype = sqlite\npath = l.db\n"
		       "timeout = 2.5\n");
	if (!t_comma_locale(dir)) {
		fprintf(stderr, "no de_DE.UTF-8 locale: skipped\n");
		t_rmtree(dir);
		free(path);
		free(dir);
		skip();
	}
	rc = dbr_open(&db, path, NULL, &err);
	t_c_locale();
	if (rc)
		fail_msg("%s", err.message);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* Many problems past the message buffer: truncation is marked. */
static void test_config__truncation_marked(void **state)
{
	char *dir = t_tmpdir(), *path, text[8192];
	struct dbr_error err;
	struct dbr *db;
	size_t used = 0;
	int i;

	(void)state;
	used += (size_t)snprintf(text, sizeof(text),
				 "[source.a]\ntype = sqlite\npath = a\n"
				 "[chat_mapping]\n");
	for (i = 0; i < 100; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
					 "%d = nowhere\n", i);
	path = t_write(dir, "t.ini", text);
	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	assert_true(err.truncated);
	assert_string_equal(err.message + strlen(err.message) - 3, "...");
	t_rmtree(dir);
	free(path);
	free(dir);
}

/*
 * Many duplicate chat ids: each reported on its own line with the first
 * line of its chat, in file order (issue 12, item 8: finding that first
 * line was a scan of every earlier mapping, quadratic in the file).
 */
static void test_config__many_duplicate_chats(void **state)
{
	enum { CHATS = 100000 };
	static const char head[] = "[source.a]\ntype = sqlite\npath = a\n"
				   "[chat_mapping]\n";
	char *dir = t_tmpdir(), *path = t_path(dir, "dups.ini");
	struct dbr_error err;
	struct dbr *db;
	FILE *f = fopen(path, "w");
	const char *first;
	int i;

	(void)state;
	/* Every chat twice, the second half far from the first. */
	assert_non_null(f);
	fputs(head, f);
	for (i = 0; i < 2 * CHATS; i++)
		fprintf(f, "%d = a\n", i % CHATS);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	assert_null(db);
	/* Lines 5 to 100004 map chats 0 to 99999; then again. */
	first = strstr(err.message, "dups.ini:100005: duplicate chat id 0 "
				    "(first on line 5)\n");
	assert_non_null(first);
	assert_true(first < strchr(err.message, '\n'));
	assert_non_null(strstr(err.message, "dups.ini:100006: duplicate chat "
					    "id 1 (first on line 6)\n"));
	assert_non_null(strstr(err.message, "dups.ini:100007: duplicate chat "
					    "id 2 (first on line 7)"));
	t_rmtree(dir);
	free(path);
	free(dir);
}

/*
 * Many distinct source names in [chat_mapping], each used twice: every
 * chat reported with its own name (the names were interned by a linear
 * search, quadratic in the file; 50,000 names took 3.5 s).
 */
static void test_config__many_source_names(void **state)
{
	enum { NAMES = 100000 };
	static const char head[] = "[source.a]\ntype = sqlite\npath = a\n"
				   "[chat_mapping]\n";
	char *dir = t_tmpdir(), *path = t_path(dir, "names.ini");
	struct dbr_error err;
	struct dbr *db;
	FILE *f = fopen(path, "w");
	int i;

	(void)state;
	assert_non_null(f);
	fputs(head, f);
	fputs("1000000 = a\n", f);
	for (i = 0; i < 2 * NAMES; i++)
		fprintf(f, "%d = n%d\n", i, i % NAMES);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	assert_null(db);
	assert_non_null(strstr(err.message, "names.ini:6: chat 0: undefined "
					    "source 'n0'"));
	assert_non_null(strstr(err.message, "names.ini:7: chat 1: undefined "
					    "source 'n1'"));
	assert_null(strstr(err.message, "names.ini:5:"));
	t_rmtree(dir);
	free(path);
	free(dir);
}

/*
 * Many keys in one section, each twice: every duplicate reported with the
 * line of the first (found by a scan of the earlier keys, quadratic in the
 * section; 50,000 scopes took 3.6 s).
 */
static void test_config__many_keys_in_a_section(void **state)
{
	enum { KEYS = 100000 };
	static const char head[] = "[source.a]\ntype = sqlite\npath = a\n"
				   "path = b\n[scopes]\n";
	char *dir = t_tmpdir(), *path = t_path(dir, "keys.ini");
	struct dbr_error err;
	struct dbr *db;
	FILE *f = fopen(path, "w");
	int i;

	(void)state;
	assert_non_null(f);
	fputs(head, f);
	for (i = 0; i < 2 * KEYS; i++)
		fprintf(f, "s%d = a\n", i % KEYS);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	assert_null(db);
	/* Lines 6 to 100005 define scopes s0 to s99999; then again. */
	assert_non_null(strstr(err.message, "keys.ini:4: duplicate key 'path' "
					    "in [source.a] (first on line 3)"));
	assert_non_null(strstr(err.message, "keys.ini:100006: duplicate scope "
					    "'s0' (first on line 6)\n"));
	assert_non_null(strstr(err.message, "keys.ini:100007: duplicate scope "
					    "'s1' (first on line 7)"));
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* The largest request the allocator hook has seen. */
static size_t largest_request;

static void *measuring_malloc(size_t n)
{
	if (n > largest_request)
		largest_request = n;
	return malloc(n);
}

static void *measuring_realloc(void *p, size_t n)
{
	if (n > largest_request)
		largest_request = n;
	return realloc(p, n);
}

/*
 * dbr_open on a pipe fed with up to 64 MiB of byte b (then the tail, if
 * any); returns how many bytes the writer got into the pipe before the
 * reader closed it.
 */
static size_t open_fed_pipe(int b, const char *tail, int want,
			    struct dbr_error *err)
{
	enum { TOTAL = 64 << 20 };
	char block[65536], path[64];
	int data[2], count[2], status;
	size_t fed = 0;
	struct dbr *db;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(data), 0);
	assert_int_equal(pipe(count), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(data[0]);
		close(count[0]);
		memset(block, b, sizeof(block));
		while (fed < TOTAL &&
		       (n = write(data[1], block, sizeof(block))) > 0)
			fed += (size_t)n;
		if (fed == TOTAL && tail)
			(void)!write(data[1], tail, strlen(tail));
		close(data[1]);
		(void)!write(count[1], &fed, sizeof(fed));
		_exit(0);
	}
	close(data[1]);
	close(count[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", data[0]);
	assert_int_equal(dbr_open(&db, path, NULL, err), want);
	assert_null(db);
	close(data[0]);
	assert_int_equal(read(count[0], &fed, sizeof(fed)), sizeof(fed));
	close(count[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return fed;
}

/*
 * A file that is not text is refused at its first NUL byte or control
 * character, with FILE:LINE, without reading on (issue 12, item 5: -c
 * /dev/zero read one endless line into memory, about 1 GB). A long line
 * is measured, never kept: memory stays bounded.
 */
static void test_config__not_text(void **state)
{
	static const char tail[] = " = v\n[source.a]\ntype = sqlite\n"
				   "path = a\n";
	char *dir = t_tmpdir(), *path;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	/* Reading stops at the first NUL: the writer is not drained. */
	assert_true(open_fed_pipe(0, NULL, DBR_E_CONFIG, &err) < 1 << 20);
	assert_non_null(strstr(err.message, ":1: line contains a NUL byte: "
					    "not a text file"));
	largest_request = 0;
	dbr_set_allocator(measuring_malloc, measuring_realloc, free);
	assert_int_equal(dbr_open(&db, "/dev/zero", NULL, &err), DBR_E_CONFIG);
	assert_null(db);
	assert_string_equal(err.message,
			    "/dev/zero:1: line contains a NUL byte: not a "
			    "text file; reading stopped here");
	/* A binary file: this test's own executable. */
	assert_int_equal(dbr_open(&db, "/proc/self/exe", NULL, &err),
			 DBR_E_CONFIG);
	assert_non_null(
		strstr(err.message, "/proc/self/exe:1: line contains "));
	assert_non_null(strstr(err.message, "not a text file"));
	assert_null(strchr(err.message, '\n'));
	/* A control character other than tab, CR, VT, FF or ESC. */
	path = t_write(dir, "ctl.ini",
		       "[source.a]\ntype = sqlite\n"
		       "path = a\x01\n");
	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "ctl.ini:3: line contains the "
					    "control character 0x01: not a "
					    "text file; reading stopped here"));
	free(path);
	/* A 64 MiB line of text is read to its end, never kept whole. */
	assert_true(open_fed_pipe('k', tail, DBR_E_CONFIG, &err) == 64 << 20);
	assert_non_null(strstr(err.message, ":1: line is too long (67108868 "
					    "bytes; the limit is 199)"));
	dbr_set_allocator(NULL, NULL, NULL);
	assert_true(largest_request > 0);
	assert_true(largest_request < 1 << 20);
	t_rmtree(dir);
	free(dir);
}

/* Allocation failures at every step of loading: an error, never a crash
 * or a leak (the sanitizer build checks leaks). */
static long alloc_budget;

static void *failing_malloc(size_t n)
{
	return alloc_budget-- > 0 ? malloc(n) : NULL;
}

static void *failing_realloc(void *p, size_t n)
{
	return alloc_budget-- > 0 ? realloc(p, n) : NULL;
}

static void test_config__oom_injection(void **state)
{
	struct dbr_error err;
	struct dbr *db;
	long budget;
	int rc = -1;

	(void)state;
	for (budget = 0; budget < 10000 && rc != DBR_OK; budget++) {
		alloc_budget = budget;
		dbr_set_allocator(failing_malloc, failing_realloc, free);
		rc = dbr_open(&db, CONFIG_DIR "/good_full.ini", NULL, &err);
		dbr_set_allocator(NULL, NULL, NULL);
		if (rc == DBR_OK)
			dbr_close(db);
		else
			assert_int_equal(rc, DBR_E_NOMEM);
	}
	assert_int_equal(rc, DBR_OK);
	assert_true(budget > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__bad_files_report_file_line),
		cmocka_unit_test(test_config__good_files_load),
		cmocka_unit_test(test_config__full_values),
		cmocka_unit_test(test_config__mapping_values),
		cmocka_unit_test(test_config__limits),
		cmocka_unit_test(test_config__crlf_and_bom),
		cmocka_unit_test(test_config__inline_comments),
		cmocka_unit_test(test_config__nul_byte),
		cmocka_unit_test(test_config__file_errors),
		cmocka_unit_test(test_config__relative_to_file),
		cmocka_unit_test(test_config__truncation_marked),
		cmocka_unit_test(test_config__numbers_ignore_locale),
		cmocka_unit_test(test_config__many_duplicate_chats),
		cmocka_unit_test(test_config__many_source_names),
		cmocka_unit_test(test_config__many_keys_in_a_section),
		cmocka_unit_test(test_config__not_text),
		cmocka_unit_test(test_config__oom_injection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
