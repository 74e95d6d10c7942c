/*
 * test_plugin.c - loading driver plugins from plugins.d: the folder's
 * precedence, every reason a plugin is refused (each a FILE:LINE error on
 * the source's type line), load once per process and never unload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbroute_driver.h"
#include "helpers.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	unsetenv("DBROUTE_PLUGIN_DIR");
	dir = t_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	t_rmtree(dir);
	free(dir);
	return 0;
}

/* A config with one source of `type` and the given plugin_dir (or none). */
static char *config(const char *type, const char *plugin_dir)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[database]\n%s%s\n\n[source.x]\ntype = %s\nlabel = hi\n",
		 plugin_dir ? "plugin_dir = " : "",
		 plugin_dir ? plugin_dir : "", type);
	return t_write(dir, "p.ini", text);
}

/* Source x's driver comes from `origin` and reports `version` (either
 * NULL: not checked). */
static void expect_driver(struct dbr *db, const char *origin,
			  const char *version)
{
	struct dbr_source_info info = { .size = sizeof(info) };
	struct dbr_error err;

	assert_int_equal(dbr_source_info(db, "x", &info, &err), DBR_OK);
	if (origin)
		assert_string_equal(info.driver_origin, origin);
	if (version)
		assert_string_equal(info.driver_version, version);
}

/* Opening fails with a message on line 5 (the type line) containing
 * each of the given fragments. */
static void expect_refused(const char *type, const char *plugin_dir,
			   const char *frag1, const char *frag2)
{
	char *path = config(type, plugin_dir), want[600];
	struct dbr_error err;
	struct dbr *db;

	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	snprintf(want, sizeof(want), "%s:5: source 'x': ", path);
	if (strncmp(err.message, want, strlen(want)) ||
	    !strstr(err.message, frag1) ||
	    (frag2 && !strstr(err.message, frag2))) {
		fprintf(stderr, "unexpected: %s\n", err.message);
		fail();
	}
	free(path);
}

static void test_plugin__loads_from_plugin_dir(void **state)
{
	char *path = config("good", DBR_FIXTURE_DIR "/good");
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	db = t_open(path);
	expect_driver(db, DBR_FIXTURE_DIR "/good/good.so", "0.1.0");
	assert_int_equal(
		dbr_query_source(db, "x", "anything", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "hi");
	dbr_result_free(res);
	dbr_close(db);
	free(path);
}

/* With no plugin_dir, binaries of the build tree use <build>/plugins.d;
 * DBROUTE_PLUGIN_DIR is searched before plugin_dir. */
static void test_plugin__folder_precedence(void **state)
{
	char *path = config("template", NULL);
	struct dbr *db = t_open(path);

	(void)state;
	expect_driver(db, DBR_BUILD_PLUGIN_DIR "/template.so", NULL);
	dbr_close(db);
	free(path);
	setenv("DBROUTE_PLUGIN_DIR", DBR_FIXTURE_DIR "/good", 1);
	path = config("good", "/nonexistent");
	db = t_open(path);
	expect_driver(db, DBR_FIXTURE_DIR "/good/good.so", NULL);
	dbr_close(db);
	unsetenv("DBROUTE_PLUGIN_DIR");
	free(path);
	expect_refused("broken", "/nonexistent",
		       "tried '/nonexistent/broken.so'",
		       "plugin folder from plugin_dir");
}

static void test_plugin__refusals(void **state)
{
	(void)state;
	expect_refused("nosuchtype", DBR_FIXTURE_DIR "/good",
		       "no built-in driver (built in: sqlite) and no plugin",
		       "/good/nosuchtype.so");
	expect_refused("broken", DBR_FIXTURE_DIR "/name",
		       "/name/broken.so' refused",
		       "driver names itself 'other', not 'broken'");
	expect_refused("broken", DBR_FIXTURE_DIR "/major",
		       "/major/broken.so' refused",
		       "driver ABI 3.0, but this dbroute needs ABI 2.x");
	expect_refused("broken", DBR_FIXTURE_DIR "/short",
		       "/short/broken.so' refused", "too short for ABI 2");
	expect_refused("broken", DBR_FIXTURE_DIR "/noquery",
		       "/noquery/broken.so' refused", "lacks a required call");
	expect_refused("broken", DBR_FIXTURE_DIR "/noentry",
		       "/noentry/broken.so' has no entry symbol "
		       "'dbr_driver_entry'",
		       NULL);
	/* dlopen's own reason names the missing library. */
	expect_refused("broken", DBR_FIXTURE_DIR "/needsdep",
		       "/needsdep/broken.so' cannot be loaded",
		       "libfixture_dep.so");
}

/* Option declarations and capabilities are checked at load, naming the
 * file and the declaration. */
static void test_plugin__bad_declarations_refused(void **state)
{
	static const struct {
		const char *dir, *want;
	} cases[] = {
		{ "opt0", "option 'size': bad default 'abc': expected an "
			  "integer" },
		{ "opt1", "option 'size': bad default '20': expected an "
			  "integer from 1 to 10" },
		{ "opt2", "option 'size': min 10 is above max 1" },
		{ "opt3", "option 1: unknown kind 99 (or the array lacks its "
			  "NULL name)" },
		{ "opt4", "option 1: name 'Size' is not a valid key" },
		{ "opt5", "option 'mode': an ENUM needs choices" },
		{ "opt6", "option 'mode': bad default 'c': expected one of "
			  "a|b" },
		{ "opt7", "option 'label' is declared twice" },
		{ "beginonly", "only some of begin, commit and rollback "
			       "(missing commit rollback" },
		{ "txcap", "declares DBR_CAP_TRANSACTIONS without begin" },
		{ "capsboth", "declares both of DBR_CAP_SQL and DBR_CAP_KV" },
		{ "capsnone",
		  "declares neither of DBR_CAP_SQL and DBR_CAP_KV" },
	};
	char pdir[512], file[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(pdir, sizeof(pdir), "%s/%s", DBR_FIXTURE_DIR,
			 cases[i].dir);
		snprintf(file, sizeof(file),
			 "plugin '%s/broken.so' refused: ", pdir);
		expect_refused("broken", pdir, file, cases[i].want);
	}
}

/* A plugin built for ABI 1 is refused naming both versions and what to
 * do (its option array and connection head have no size). */
static void test_plugin__abi1_refused(void **state)
{
	(void)state;
	expect_refused("broken", DBR_FIXTURE_DIR "/abi1",
		       "/abi1/broken.so' refused: driver ABI 1.1, but this "
		       "dbroute needs ABI 2.x",
		       "(rebuild the plugin with this dbroute's "
		       "dbroute_driver.h)");
}

/* Option declarations shorter than ABI 2.0's (or of no stated size) are
 * refused naming the file. */
static void test_plugin__short_option_size_refused(void **state)
{
	char want[160];

	(void)state;
	snprintf(want, sizeof(want), "too short for ABI 2 (at least %zu)",
		 sizeof(struct dbr_option_decl));
	expect_refused("broken", DBR_FIXTURE_DIR "/optsize0",
		       "/optsize0/broken.so' refused: option declarations "
		       "of 0 bytes each (option_size)",
		       want);
	expect_refused("broken", DBR_FIXTURE_DIR "/optsize8",
		       "/optsize8/broken.so' refused: option declarations "
		       "of 8 bytes each (option_size)",
		       want);
}

/* An array that lacks its NULL name is read no further than its first
 * entry of an unknown kind (ASan saw the walk read past the array). */
static void test_plugin__unterminated_options_stop_early(void **state)
{
	(void)state;
	expect_refused("broken", DBR_FIXTURE_DIR "/unterminated",
		       "/unterminated/broken.so' refused: option 2: unknown "
		       "kind 99 (or the array lacks its NULL name)",
		       NULL);
}

/* Declarations one field longer than the core's (a later minor) are
 * walked by their option_size: both options are found and checked. */
static void test_plugin__wider_option_decls_walked_by_stride(void **state)
{
	char *path;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	path = t_write(dir, "w.ini",
		       "[database]\nplugin_dir = " DBR_FIXTURE_DIR
		       "/wideopts\n\n[source.x]\ntype = wide\n"
		       "label = hi\nsize = 20\n");
	assert_int_equal(dbr_open(&db, path, NULL, &err), DBR_E_CONFIG);
	if (!strstr(err.message, "w.ini:7: bad value '20' for 'size'")) {
		fprintf(stderr, "unexpected: %s\n", err.message);
		fail();
	}
	free(path);
	path = t_write(dir, "w.ini",
		       "[database]\nplugin_dir = " DBR_FIXTURE_DIR
		       "/wideopts\n\n[source.x]\ntype = wide\n"
		       "label = hi\nsize = 3\n");
	db = t_open(path);
	assert_int_equal(
		dbr_query_source(db, "x", "anything", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "hi");
	dbr_result_free(res);
	dbr_close(db);
	free(path);
}

/* A connection whose head is smaller than the core's is closed and the
 * open fails with DBR_E_ABI naming the driver. */
static void test_plugin__short_conn_head_refused(void **state)
{
	char *path = config("connsize", DBR_FIXTURE_DIR "/connsize");
	struct dbr_result *res = NULL;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	db = t_open(path);
	assert_int_equal(
		dbr_query_source(db, "x", "anything", NULL, 0, &res, &err),
		DBR_E_ABI);
	assert_null(res);
	if (!strstr(err.message,
		    "driver 'connsize' (" DBR_FIXTURE_DIR
		    "/connsize/connsize.so): connection head of 4 "
		    "bytes (struct_size) is too short for ABI 2")) {
		fprintf(stderr, "unexpected: %s\n", err.message);
		fail();
	}
	dbr_close(db);
	free(path);
}

/* Another minor of the same major is accepted. */
static void test_plugin__other_minor_accepted(void **state)
{
	char *path = config("minor", DBR_FIXTURE_DIR "/minor");

	(void)state;
	dbr_close(t_open(path));
	free(path);
}

/*
 * A driver built for ABI 2.1 never receives a type of 2.2: a bool comes
 * as int64 0 or 1, a timestamp as its text form, a typed NULL untyped
 * (the fixture fails with DBR_E_ABI if it sees one); a timestamp out of
 * range is refused before the driver is called.
 */
static void test_plugin__older_minor_gets_known_types(void **state)
{
	char *path = config("abi21", DBR_FIXTURE_DIR "/abi21");
	struct dbr *db = t_open(path);
	struct dbr_value p[5], v;
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	p[0] = dbr_bool(true);
	p[1] = dbr_bool(false);
	p[2] = dbr_timestamp(1700000000123456LL);
	p[3] = dbr_null_of(DBR_TYPE_TIMESTAMP);
	p[4] = dbr_text("x", 1);
	if (dbr_query_source(db, "x", "echo", p, 5, &res, &err))
		fail_msg("%s", err.message);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 1, &v);
	assert_int_equal(v.type, DBR_TYPE_INT64);
	assert_int_equal(v.u.i, 1);
	dbr_result_value(res, 2, &v);
	assert_int_equal(v.type, DBR_TYPE_INT64);
	assert_int_equal(v.u.i, 0);
	assert_string_equal(dbr_result_text(res, 3, NULL),
			    "2023-11-14 22:13:20.123456");
	dbr_result_value(res, 4, &v);
	assert_int_equal(v.type, DBR_TYPE_NULL);
	assert_int_equal(v.u.i, 0);
	assert_string_equal(dbr_result_text(res, 5, NULL), "x");
	dbr_result_free(res);

	p[2] = dbr_timestamp(DBR_TIMESTAMP_MIN - 1);
	assert_int_equal(dbr_query_source(db, "x", "echo", p, 5, &res, &err),
			 DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "parameter 3: timestamp"));
	assert_null(res);
	dbr_close(db);
	free(path);
}

/* What another user could have replaced is refused. */
static void test_plugin__unsafe_files_refused(void **state)
{
	char *pdir = t_path(dir, "plugins.d");
	char *so = t_path(pdir, "unsafe.so");
	char *junk, *path;

	(void)state;
	assert_int_equal(mkdir(pdir, 0755), 0);
	t_copy(DBR_FIXTURE_DIR "/unsafe/unsafe.so", so);
	assert_int_equal(chmod(so, 0775), 0);
	expect_refused("unsafe", pdir, "writable by group or others",
		       "mode 0775");
	assert_int_equal(chmod(so, 0757), 0);
	expect_refused("unsafe", pdir, "writable by group or others", NULL);
	assert_int_equal(chmod(so, 0755), 0);
	assert_int_equal(chmod(pdir, 0777), 0);
	expect_refused("unsafe", pdir, "plugin folder", "writable by group");
	assert_int_equal(chmod(pdir, 0755), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(so, 65534, 65534), 0);
		expect_refused("unsafe", pdir, "owned by uid 65534", NULL);
		assert_int_equal(chown(so, 0, 0), 0);
	}
	/* Not a shared object at all: dlopen's reason is passed on. */
	junk = t_write(pdir, "junk.so", "this is not ELF\n");
	chmod(junk, 0644);
	expect_refused("junk", pdir, "/junk.so' cannot be loaded",
		       "not an ELF file");
	/* Safe again: loads (last, as a loaded type stays loaded). */
	path = config("unsafe", pdir);
	dbr_close(t_open(path));
	free(path);
	free(junk);
	free(so);
	free(pdir);
}

/* A symlink in a safe folder is followed and its target checked: every
 * folder on the real path, not only the link's. */
static void test_plugin__symlink_into_unsafe_folder_refused(void **state)
{
	char *safe = t_path(dir, "safe"), *open = t_path(dir, "open");
	char *link = t_path(safe, "linked.so"), *so = t_path(open, "linked.so");
	char *path, *inner;
	struct dbr *db;

	(void)state;
	assert_int_equal(mkdir(safe, 0755), 0);
	assert_int_equal(mkdir(open, 0755), 0);
	assert_int_equal(chmod(open, 0777), 0);
	t_copy(DBR_FIXTURE_DIR "/linked/linked.so", so);
	assert_int_equal(chmod(so, 0755), 0);
	assert_int_equal(symlink(so, link), 0);
	expect_refused("linked", safe, "/safe/linked.so': through symlink '",
		       "/safe/linked.so': plugin folder");
	expect_refused("linked", safe, "plugin folder '", "/open' is writable");
	/* No link needed: a safe folder inside an unsafe one is refused too
	 * (whoever may write the parent may rename and swap the folder). */
	inner = t_path(open, "plugins.d");
	assert_int_equal(mkdir(inner, 0755), 0);
	free(so);
	so = t_path(inner, "linked.so");
	t_copy(DBR_FIXTURE_DIR "/linked/linked.so", so);
	assert_int_equal(chmod(so, 0755), 0);
	expect_refused("linked", inner, "plugin folder '",
		       "/open' is writable");
	free(inner);
	/* A symlink into a safe folder loads; the configured path is kept. */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(DBR_FIXTURE_DIR "/linked/linked.so", link), 0);
	path = config("linked", safe);
	db = t_open(path);
	expect_driver(db, link, NULL);
	dbr_close(db);
	free(path);
	free(so);
	free(link);
	free(open);
	free(safe);
}

/*
 * A missing plugin_dir in a folder others may write: a symlink planted
 * under its name must not lead the search into another folder, however
 * safe that folder is. Every folder on the path as written is checked,
 * and a symlink on it owned by neither root nor the current user is
 * refused (the kernel's protected_symlinks rule, whatever the sysctl).
 */
static void test_plugin__symlink_planted_on_written_path_refused(void **state)
{
	char *shared = t_path(dir, "shared"), *other = t_path(dir, "other");
	char *plugins = t_path(shared, "plugins");
	char *so = t_path(other, "planted.so"), want[600], *path;
	struct dbr *db;

	(void)state;
	assert_int_equal(mkdir(shared, 0755), 0);
	assert_int_equal(chmod(shared, 0777), 0);
	assert_int_equal(mkdir(other, 0755), 0);
	t_copy(DBR_FIXTURE_DIR "/planted/planted.so", so);
	assert_int_equal(chmod(so, 0755), 0);
	/* Missing: passed over. */
	expect_refused("planted", plugins, "no plugin for this type", NULL);
	assert_int_equal(symlink("../other", plugins), 0);
	snprintf(want, sizeof(want), "plugin folder '%s' is writable", shared);
	expect_refused("planted", plugins, want, NULL);
	if (geteuid() != 0)
		goto out;
	/* A root-owned sticky parent, as /tmp: only its owner's links. */
	assert_int_equal(chmod(shared, 01777), 0);
	assert_int_equal(lchown(plugins, 65534, 65534), 0);
	snprintf(want, sizeof(want),
		 "symlink '%s' is owned by uid 65534, neither root nor the "
		 "current user",
		 plugins);
	expect_refused("planted", plugins, want, NULL);
	assert_int_equal(lchown(plugins, 0, 0), 0);
	path = config("planted", plugins);
	db = t_open(path);
	snprintf(want, sizeof(want), "%s/planted.so", plugins);
	expect_driver(db, want, NULL);
	dbr_close(db);
	free(path);
out:
	free(so);
	free(plugins);
	free(other);
	free(shared);
}

/* A copy of a real plugin as `<pdir>/<type>.so`, mode 0755. */
static char *copy_plugin(const char *pdir, const char *type)
{
	char name[64], *so;

	snprintf(name, sizeof(name), "%s.so", type);
	so = t_path(pdir, name);
	t_copy(DBR_BUILD_PLUGIN_DIR "/postgres.so", so);
	assert_int_equal(chmod(so, 0755), 0);
	return so;
}

/* A truncated plugin is refused before dlopen() maps it (which faulted
 * with SIGBUS), and one for another machine is named as such. */
static void test_plugin__truncated_or_foreign_elf_refused(void **state)
{
	char *pdir = t_path(dir, "plugins.d"), *so, want[80];
	struct stat st;
	uint16_t machine, other;
	FILE *f;

	(void)state;
	assert_int_equal(mkdir(pdir, 0755), 0);
	so = copy_plugin(pdir, "cut");
	assert_int_equal(truncate(so, 4096), 0);
	expect_refused("cut", pdir,
		       "/cut.so' cannot be loaded: truncated: segment ends at ",
		       "but the file has 4096 bytes");
	free(so);
	so = copy_plugin(pdir, "half");
	assert_int_equal(stat(so, &st), 0);
	assert_int_equal(truncate(so, st.st_size / 2), 0);
	snprintf(want, sizeof(want), "but the file has %lld bytes",
		 (long long)(st.st_size / 2));
	expect_refused("half", pdir,
		       "/half.so' cannot be loaded: truncated: ", want);
	free(so);
	/* e_machine is the two bytes at offset 18 in both ELF classes. */
	so = copy_plugin(pdir, "foreign");
	f = fopen(so, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 18, SEEK_SET), 0);
	assert_int_equal(fread(&machine, sizeof(machine), 1, f), 1);
	other = machine == 183 ? 62 : 183;
	assert_int_equal(fseek(f, 18, SEEK_SET), 0);
	assert_int_equal(fwrite(&other, sizeof(other), 1, f), 1);
	assert_int_equal(fclose(f), 0);
	snprintf(want, sizeof(want),
		 "built for another architecture (machine %u, this is %u)",
		 (unsigned)other, (unsigned)machine);
	expect_refused("foreign", pdir, "/foreign.so' cannot be loaded", want);
	free(so);
	free(pdir);
}

static bool mapped(const char *path)
{
	char *maps = t_read("/proc/self/maps");
	bool found = maps && strstr(maps, path);

	free(maps);
	return found;
}

/* The version the counting fixture reports: "calls N", N entry calls. */
static void expect_version(struct dbr *db, const char *want)
{
	expect_driver(db, NULL, want);
}

/* Loaded once per process for every source and handle naming it: the
 * entry runs once and the file stays mapped after the last close. */
static void test_plugin__loaded_once_per_process(void **state)
{
	char *path = config("counted", DBR_FIXTURE_DIR "/counted");
	struct dbr *a, *b;
	int i;

	(void)state;
	a = t_open(path);
	b = t_open(path);
	expect_version(a, "calls 1");
	dbr_close(a);
	dbr_close(b);
	assert_true(mapped(DBR_FIXTURE_DIR "/counted/counted.so"));
	for (i = 0; i < 3; i++) {
		a = t_open(path);
		expect_version(a, "calls 1");
		dbr_close(a);
	}
	assert_true(mapped(DBR_FIXTURE_DIR "/counted/counted.so"));
	free(path);
}

/* A plugin that finds its own dependency through $ORIGIN (shipped beside
 * it) loads: it is loaded by its real path, so $ORIGIN is its folder (it
 * was /proc/self/fd when loaded through the descriptor). */
static void test_plugin__origin_rpath_works(void **state)
{
	char *path = config("origin", DBR_FIXTURE_DIR "/origin");
	struct dbr_source_info info = { .size = sizeof(info) };
	struct dbr *db;

	(void)state;
	db = t_open(path);
	assert_int_equal(dbr_source_info(db, NULL, &info, NULL), DBR_OK);
	assert_string_equal(info.type, "origin");
	dbr_close(db);
	free(path);
}

/* Another file for a type already loaded is an error, not a reuse. */
static void test_plugin__other_file_for_loaded_type_refused(void **state)
{
	char *path = config("good", DBR_FIXTURE_DIR "/good");

	(void)state;
	dbr_close(t_open(path));
	free(path);
	expect_refused("good", DBR_FIXTURE_DIR "/good2",
		       "type 'good' is already loaded from '" DBR_FIXTURE_DIR
		       "/good/good.so', not from '" DBR_FIXTURE_DIR
		       "/good2/good.so'",
		       "a driver is loaded once per process");
	expect_refused(
		"good", "/nonexistent", "type 'good' is already loaded from '",
		"no plugin folder has it now: tried '/nonexistent/good.so' "
		"(plugin folder from plugin_dir), '" DBR_BUILD_PLUGIN_DIR
		"/good.so' (plugin folder the build tree's default)");
}

/* `dbroute check` on a configuration in dir: its output, which names the
 * file that served each source. */
static char *check_output(const char *ini)
{
	char args[600], *out = NULL, *err = NULL;

	snprintf(args, sizeof(args), "check -c '%s'", ini);
	(void)t_run_cli(dir, args, &out, &err);
	free(err);
	assert_non_null(out);
	return out;
}

/*
 * plugin_dir and DBROUTE_PLUGIN_DIR add folders searched before the
 * default one: a plugin_dir without redis.so still finds the build tree's,
 * and its own template.so wins over the default. Each run is a new process
 * (the CLI), as a type is loaded once per process.
 */
static void test_plugin__plugin_dir_searched_before_default(void **state)
{
	char *pdir = t_path(dir, "mine"), *so, *ini, *out;

	(void)state;
	assert_int_equal(mkdir(pdir, 0755), 0);
	ini = t_write(dir, "s.ini",
		      "[database]\nplugin_dir = mine\ndefault_source = a\n"
		      "[source.a]\ntype = template\n[source.b]\ntype = redis\n"
		      "port = 1\ntimeout = 0.1\n");
	out = check_output(ini);
	if (!strstr(out, "\t" DBR_BUILD_PLUGIN_DIR "/template.so") ||
	    !strstr(out, "\t" DBR_BUILD_PLUGIN_DIR "/redis.so"))
		fail_msg("not the default folder's plugins: %s", out);
	free(out);
	so = t_path(pdir, "template.so");
	t_copy(DBR_BUILD_PLUGIN_DIR "/template.so", so);
	assert_int_equal(chmod(so, 0755), 0);
	out = check_output(ini);
	if (!strstr(out, so) ||
	    !strstr(out, "\t" DBR_BUILD_PLUGIN_DIR "/redis.so"))
		fail_msg("plugin_dir's template.so not first: %s", out);
	free(out);
	/* The environment's folder comes first and adds to the others. */
	setenv("DBROUTE_PLUGIN_DIR", DBR_FIXTURE_DIR "/good", 1);
	out = check_output(ini);
	unsetenv("DBROUTE_PLUGIN_DIR");
	if (!strstr(out, so) ||
	    !strstr(out, "\t" DBR_BUILD_PLUGIN_DIR "/redis.so"))
		fail_msg("DBROUTE_PLUGIN_DIR hid the others: %s", out);
	free(out);
	free(ini);
	free(so);
	free(pdir);
}

/* An unknown type names the nearest built-in type or plugin file. */
static void test_plugin__unknown_type_suggests(void **state)
{
	(void)state;
	expect_refused("sqlit", DBR_FIXTURE_DIR "/good",
		       "unknown driver type 'sqlit' (did you mean 'sqlite'?): "
		       "no built-in driver",
		       NULL);
	expect_refused("goood", DBR_FIXTURE_DIR "/good",
		       "unknown driver type 'goood' (did you mean 'good'?)",
		       "tried '" DBR_FIXTURE_DIR "/good/goood.so' (plugin "
		       "folder from plugin_dir), '" DBR_BUILD_PLUGIN_DIR
		       "/goood.so' (plugin folder the build tree's default)");
	expect_refused("redsi", DBR_FIXTURE_DIR "/good",
		       "unknown driver type 'redsi' (did you mean 'redis'?)",
		       NULL);
	expect_refused("zzzzzz", DBR_FIXTURE_DIR "/good",
		       "unknown driver type 'zzzzzz': no built-in driver",
		       NULL);
}

/*
 * A file that is there is never passed over: a dangling symlink TYPE.so
 * and a plugin_dir that is a regular file are errors, not "no plugin".
 */
static void test_plugin__dangling_link_or_file_as_folder_refused(void **state)
{
	char *pdir = t_path(dir, "plugins.d"), *link, *file;

	(void)state;
	assert_int_equal(mkdir(pdir, 0755), 0);
	link = t_path(pdir, "dangling.so");
	assert_int_equal(symlink("nowhere.so", link), 0);
	expect_refused(
		"dangling", pdir,
		"/plugins.d/dangling.so' (plugin folder from plugin_dir) "
		"cannot be opened: a symlink to a missing file",
		NULL);
	file = t_write(dir, "notafolder", "x\n");
	expect_refused("dangling", file,
		       "/notafolder/dangling.so' (plugin folder from "
		       "plugin_dir) cannot be opened: Not a directory",
		       NULL);
	free(file);
	free(link);
	free(pdir);
}

/* A plugin refused in an earlier folder is an error even though a later
 * folder has a good one (a new process: `dbroute check`). */
static void test_plugin__refused_file_shadows_later_folders(void **state)
{
	char *pdir = t_path(dir, "plugins.d"), *so, *ini;
	char *out = NULL, *err = NULL;
	int rc;

	(void)state;
	assert_int_equal(mkdir(pdir, 0755), 0);
	so = t_path(pdir, "good.so");
	t_copy(DBR_FIXTURE_DIR "/good/good.so", so);
	assert_int_equal(chmod(so, 0775), 0);
	ini = t_write(dir, "r.ini",
		      "[database]\nplugin_dir = " DBR_FIXTURE_DIR "/good\n"
		      "[source.a]\ntype = good\nlabel = hi\n");
	setenv("DBROUTE_PLUGIN_DIR", pdir, 1);
	rc = t_run_cli(dir, "check -c r.ini", &out, &err);
	unsetenv("DBROUTE_PLUGIN_DIR");
	assert_int_not_equal(rc, 0);
	if (!strstr(err, so) || !strstr(err, "writable by group or others"))
		fail_msg("not refused: %s%s", out, err);
	free(out);
	free(err);
	free(ini);
	free(so);
	free(pdir);
}

/* DBROUTE_PLUGIN_DIR and plugin_dir both have TYPE.so: the environment's
 * file serves it (a new process each time: `dbroute check`). */
static void test_plugin__env_folder_wins_over_plugin_dir(void **state)
{
	char *ini, *out;

	(void)state;
	ini = t_write(dir, "e.ini",
		      "[database]\nplugin_dir = " DBR_FIXTURE_DIR "/good2\n"
		      "[source.a]\ntype = good\nlabel = hi\n");
	out = check_output(ini);
	if (!strstr(out, "\t" DBR_FIXTURE_DIR "/good2/good.so"))
		fail_msg("not plugin_dir's good.so: %s", out);
	free(out);
	setenv("DBROUTE_PLUGIN_DIR", DBR_FIXTURE_DIR "/good", 1);
	out = check_output(ini);
	unsetenv("DBROUTE_PLUGIN_DIR");
	if (!strstr(out, "\t" DBR_FIXTURE_DIR "/good/good.so"))
		fail_msg("not DBROUTE_PLUGIN_DIR's good.so: %s", out);
	free(out);
	free(ini);
}

/* "Did you mean" names only what could be a type: never the type itself,
 * nor a file whose name the configuration would refuse as a type. */
static void test_plugin__suggestions_are_valid_other_types(void **state)
{
	char *pdir = t_path(dir, "plugins.d"), *so;

	(void)state;
	assert_int_equal(mkdir(pdir, 0755), 0);
	so = t_path(pdir, "Sugg.so");
	t_copy(DBR_FIXTURE_DIR "/good/good.so", so);
	free(so);
	so = t_path(pdir, "a-b.so");
	t_copy(DBR_FIXTURE_DIR "/good/good.so", so);
	expect_refused("sugg", pdir, "unknown driver type 'sugg': no built-in",
		       NULL);
	expect_refused("a_b", pdir, "unknown driver type 'a_b': no built-in",
		       NULL);
	free(so);
	free(pdir);
}

/*
 * An SQL driver of ABI 2.0 has no open_with_flags: a dry run of migrate
 * (migrate status) never opens it, whose open may create a database; the
 * source reads as an error saying why.
 */
static void test_plugin__no_create_refused_on_2_0(void **state)
{
	struct dbr_migrate_options o = { sizeof(o), NULL, 0, 0,
					 DBR_MIGRATE_DRY_RUN };
	char *path = config("sqlold", DBR_FIXTURE_DIR "/sql20"), *mig;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	mig = t_path(dir, "mig");
	assert_int_equal(mkdir(mig, 0755), 0);
	free(t_write(dir, "mig/0001_a.sql", "CREATE TABLE a (x INT);\n"));
	db = t_open(path);
	assert_int_equal(dbr_migrate(db, mig, &o, NULL, NULL, &err),
			 DBR_E_UNSUPPORTED);
	if (!strstr(err.message, "has no open_with_flags"))
		fail_msg("%s", err.message);
	dbr_close(db);
	free(mig);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_plugin__no_create_refused_on_2_0),
		T(test_plugin__loads_from_plugin_dir),
		T(test_plugin__folder_precedence),
		T(test_plugin__refusals),
		T(test_plugin__bad_declarations_refused),
		T(test_plugin__other_minor_accepted),
		T(test_plugin__older_minor_gets_known_types),
		T(test_plugin__abi1_refused),
		T(test_plugin__short_option_size_refused),
		T(test_plugin__unterminated_options_stop_early),
		T(test_plugin__wider_option_decls_walked_by_stride),
		T(test_plugin__short_conn_head_refused),
		T(test_plugin__unsafe_files_refused),
		T(test_plugin__truncated_or_foreign_elf_refused),
		T(test_plugin__symlink_into_unsafe_folder_refused),
		T(test_plugin__symlink_planted_on_written_path_refused),
		T(test_plugin__loaded_once_per_process),
		T(test_plugin__origin_rpath_works),
		T(test_plugin__other_file_for_loaded_type_refused),
		T(test_plugin__plugin_dir_searched_before_default),
		T(test_plugin__unknown_type_suggests),
		T(test_plugin__dangling_link_or_file_as_folder_refused),
		T(test_plugin__refused_file_shadows_later_folders),
		T(test_plugin__env_folder_wins_over_plugin_dir),
		T(test_plugin__suggestions_are_valid_other_types),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
