/*
 * test_cli.c - the dbroute command: exit codes, negative chat ids without
 * '--', every value in every output format read back by a real parser,
 * and clear errors on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static char *dir, *config;
static char *out, *err;

/* Run `dbroute ARGS` in dir; capture stdout and stderr. */
static int run(const char *args)
{
	return t_run_cli(dir, args, &out, &err);
}

static int setup(void **state)
{
	(void)state;
	dir = t_tmpdir();
	config = t_write(dir, "c.ini",
			 "[database]\ndefault_source = main\n"
			 "[source.main]\ntype = sqlite\npath = main.db\n"
			 "[source.groups]\ntype = sqlite\npath = groups.db\n"
			 "[scopes]\nsettings = groups\n"
			 "[chat_mapping]\n-1001234567890 = groups\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	t_rmtree(dir);
	free(dir);
	free(config);
	free(out);
	free(err);
	return 0;
}

static void test_cli__help_and_version(void **state)
{
	(void)state;
	assert_int_equal(run("--help"), 0);
	assert_non_null(strstr(out, "usage: dbroute"));
	assert_int_equal(run("--version"), 0);
	assert_string_equal(out, "dbroute " DBR_VERSION_STRING "\n");
	assert_int_equal(run(""), 2);
	assert_int_equal(run("frobnicate -c c.ini"), 2);
	assert_non_null(strstr(err, "unknown command 'frobnicate'"));
}

static void test_cli__route_negative_ids(void **state)
{
	(void)state;
	assert_int_equal(run("route -c c.ini -1001234567890 5"), 0);
	assert_string_equal(out, "-1001234567890\tgroups\tmapped\n"
				 "5\tmain\tdefault\n");
	assert_int_equal(run("route -1001234567890 -c c.ini --chat -100"), 0);
	assert_string_equal(out, "-1001234567890\tgroups\tmapped\n"
				 "-100\tmain\tdefault\n");
	assert_int_equal(run("route -c c.ini 12x"), 2);
	assert_non_null(strstr(err, "bad chat id '12x'"));
	assert_int_equal(run("route -c c.ini 9223372036854775808"), 2);
	assert_int_equal(run("route -c c.ini"), 2);
	assert_int_equal(run("route 5"), 2);
	assert_non_null(strstr(err, "-c FILE is required"));
}

static void test_cli__check(void **state)
{
	char *bad;

	(void)state;
	assert_int_equal(run("check -c c.ini"), 0);
	assert_non_null(strstr(out, "main\tsqlite\tok\tbuilt-in "));
	assert_non_null(strstr(out, "groups\tsqlite\tok\tbuilt-in "));
	/* Each source's pool and health after its ping. */
	assert_non_null(strstr(out, "\tpool 1/5 open (1 idle, 0 in use, 0 "
				    "waiting); connects 1, failed 0, "
				    "discarded 0; available for "));
	bad = t_write(dir, "bad.ini", "[source.a]\ntype = sqlite\n");
	assert_int_equal(run("check -c bad.ini"), 2);
	assert_string_equal(err, "bad.ini:1: missing required key 'path' in "
				 "[source.a]\n");
	free(bad);
	bad = t_write(dir, "junk.db", "not a database, not a database at all");
	free(bad);
	bad = t_write(dir, "junk.ini",
		      "[source.j]\ntype = sqlite\n"
		      "path = junk.db\n");
	assert_int_equal(run("check -c junk.ini"), 1);
	assert_non_null(strstr(out, "j\tsqlite\tunavailable: source 'j': "
				    "cannot use"));
	assert_non_null(strstr(out, "\tpool 0/5 open (0 idle, 0 in use, 0 "
				    "waiting); connects 0, failed 1, "
				    "discarded 0; unavailable for "));
	free(bad);
	assert_int_equal(run("check -c missing.ini"), 2);
	assert_non_null(strstr(err, "missing.ini: cannot open"));
}

/*
 * check closes each source's connections after pinging it: 400 SQLite
 * sources, each its own file, all report ok under `ulimit -n 1024`
 * (item 15).
 */
static void test_cli__check_many_sources(void **state)
{
	const char *as = "sh -c 'ulimit -n 1024 && exec \"$0\" \"$@\"'";
	size_t i, n = 0, size = 64 * 1024, ok = 0;
	char *text = malloc(size), *cfg;
	const char *line;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, size - n,
			      "[database]\ndefault_source = s0\n");
	for (i = 0; i < 400; i++)
		n += (size_t)snprintf(text + n, size - n,
				      "[source.s%zu]\ntype = sqlite\n"
				      "path = many/s%zu.db\n",
				      i, i);
	assert_true(n < size);
	cfg = t_path(dir, "many");
	assert_int_equal(mkdir(cfg, 0777), 0);
	free(cfg);
	cfg = t_write(dir, "many.ini", text);
	assert_int_equal(t_run_cli_as(dir, as, "check -c many.ini", &out, &err),
			 0);
	for (line = out; line && *line && ok < 1000; ok++) {
		if (!strstr(line, "\tsqlite\tok\t") ||
		    strstr(line, "\tsqlite\tok\t") > strchr(line, '\n'))
			fail_msg("not ok: %.*s", (int)strcspn(line, "\n"),
				 line);
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	assert_int_equal(ok, 400);
	free(cfg);
	free(text);
}

static void test_cli__query_copy_text(void **state)
{
	(void)state;
	assert_int_equal(run("query -c c.ini --chat -1001234567890 "
			     "'CREATE TABLE t (a, b)'"),
			 0);
	assert_string_equal(out, "");
	assert_string_equal(err, "0 rows affected\n");
	assert_int_equal(run("query -c c.ini --chat -1001234567890 --param "
			     "\"$(printf 'tab\\there\\nline\\\\')\" "
			     "--param-int -7 'INSERT INTO t VALUES (?, ?)'"),
			 0);
	assert_string_equal(err, "1 rows affected\n");
	assert_int_equal(run("query -c c.ini --source groups \"SELECT a, b, "
			     "NULL AS n, x'00ff' AS bl, 0.1 AS d, 1e300 AS "
			     "e FROM t\""),
			 0);
	assert_string_equal(out, "a\tb\tn\tbl\td\te\n"
				 "tab\\there\\nline\\\\\t-7\t\\N\t\\\\x00ff\t"
				 "0.1\t1e+300\n");
	/* The scope routes to groups too; the default does not. */
	assert_int_equal(run("query -c c.ini --scope settings "
			     "'SELECT count(*) FROM t'"),
			 0);
	assert_string_equal(out, "count(*)\n1\n");
	assert_int_equal(run("query -c c.ini --chat 5 'SELECT count(*) FROM "
			     "t'"),
			 1);
	assert_non_null(strstr(err, "source 'main': "));
	assert_non_null(strstr(err, "no such table: t"));
	assert_int_equal(run("query -c c.ini --source groups --format csv "
			     "\"SELECT 'a,b' AS x, NULL AS y\""),
			 0);
	assert_string_equal(out, "x,y\n\"a,b\",\n");
	/* A one-column NULL row is a blank line, as COPY CSV writes it. */
	assert_int_equal(run("query -c c.ini --source groups --format csv "
			     "'SELECT NULL AS n UNION ALL SELECT 1'"),
			 0);
	assert_string_equal(out, "n\n\n1\n");
	assert_int_equal(run("query -c c.ini --source groups --format json "
			     "\"SELECT 1 AS x, 'q\\\"' AS y\""),
			 0);
	assert_string_equal(out, "[{\"x\":1,\"y\":\"q\\\"\"}]\n");
}

/*
 * One row per kind of value, run both by the CLI (through dbroute's
 * SQLite driver) and by Python's own sqlite3 module for the expected
 * values.
 */
static const char every_value_sql[] =
	"SELECT column1 AS k, column2 AS x FROM (VALUES\n"
	" (1, NULL), (2, 9223372036854775807), (3, -9223372036854775808),\n"
	" (4, 0), (5, 0.1), (6, -0.0), (7, 5.0), (8, 1e300), (9, 9e999),\n"
	" (10, -9e999), (11, 4.9e-324), (12, ''), (13, 'say \"hi\", ok'),\n"
	" (14, 'a' || char(10) || 'b' || char(13) || char(9) || 'c' ||\n"
	"      char(13, 10)),\n"
	" (15, char(0, 1, 8, 11, 12, 27) || '[31m' || char(127) || '\\N\\'),\n"
	" (16, CAST(x'66ff80e282c3a9f09f9880eda080f4908080c0afe0' AS TEXT)),\n"
	" (17, 'caf' || char(233, 32, 128512, 32, 8232)),\n"
	" (18, x''), (19, x'00ff'), (20, x'000102fffe'),\n"
	" (21, x'0a0d09225c2c'), (22, '\\x00ff'), (23, '\\.')\n"
	") ORDER BY k\n";

/*
 * Parse the CLI's output (argv[1]: json, csv or text; argv[2]: the file)
 * with Python's own parsers and compare every value with what Python's
 * sqlite3 module reads for the same statement (argv[3]).
 */
static const char every_value_py[] =
	"import base64, csv, io, json, math, sqlite3, sys\n"
	"fmt, data = sys.argv[1], open(sys.argv[2], 'rb').read()\n"
	"con = sqlite3.connect(':memory:')\n"
	"con.text_factory = bytes\n"
	"sql = open(sys.argv[3]).read()\n"
	"exp = [(k, x) for k, x in con.execute(sql)]\n"
	"def same_float(v, x):\n"
	"    return v == x and math.copysign(1, v) == math.copysign(1, x)\n"
	"def no_constant(c):\n"
	"    raise ValueError('not JSON: ' + c)\n"
	"def unescape(f):\n"
	"    if f == b'\\\\N':\n"
	"        return None\n"
	"    m = {98: 8, 102: 12, 110: 10, 114: 13, 116: 9, 118: 11, 92: 92}\n"
	"    out, i = bytearray(), 0\n"
	"    while i < len(f):\n"
	"        if f[i] != 92:\n"
	"            out.append(f[i]); i += 1\n"
	"        elif f[i + 1] in m:\n"
	"            out.append(m[f[i + 1]]); i += 2\n"
	"        else:\n"
	"            assert f[i + 1] == 120, f\n"
	"            out.append(int(f[i + 2:i + 4], 16)); i += 4\n"
	"    return bytes(out)\n"
	"if fmt == 'json':\n"
	"    rows = json.loads(data.decode('utf-8'), parse_constant=no_constant)\n"
	"    got = [(r['k'], r['x']) for r in rows]\n"
	"    assert all(list(r) == ['k', 'x'] for r in rows)\n"
	"elif fmt == 'csv':\n"
	"    text = data.decode('utf-8', 'surrogateescape')\n"
	"    rows = list(csv.reader(io.StringIO(text, newline=''), strict=True))\n"
	"    assert rows[0] == ['k', 'x'], rows[0]\n"
	"    got = [(int(k), x) for k, x in rows[1:]]\n"
	"    assert b'\\n1,\\n' in data and b'\\n12,\"\"\\n' in data\n"
	"    assert b'\\n15,\"\\x00\\x01' in data, 'a control unquoted'\n"
	"else:\n"
	"    assert data.endswith(b'\\n'), 'no final newline'\n"
	"    lines = data[:-1].split(b'\\n')\n"
	"    assert not any(c < 32 and c != 9 or c == 127 for c in data[:-1]\n"
	"                   if c != 10), 'a raw control character'\n"
	"    fields = [l.split(b'\\t') for l in lines]\n"
	"    assert all(len(f) == 2 for f in fields), 'a row broken in two'\n"
	"    assert fields[0] == [b'k', b'x'], fields[0]\n"
	"    got = [(int(k), unescape(x)) for k, x in fields[1:]]\n"
	"assert len(got) == len(exp), (len(got), len(exp))\n"
	"for (k, v), (ek, x) in zip(got, exp):\n"
	"    assert k == ek, (k, ek)\n"
	"    if fmt == 'csv' and isinstance(v, str):\n"
	"        v = v.encode('utf-8', 'surrogateescape')\n"
	"    if x is None:\n"
	"        ok = v is None if fmt != 'csv' else v == b''\n"
	"    elif isinstance(x, int):\n"
	"        ok = type(v) is int and v == x if fmt == 'json' else \\\n"
	"            int(v) == x\n"
	"    elif isinstance(x, float):\n"
	"        if fmt == 'json':\n"
	"            ok = same_float(v, x) if type(v) is float else \\\n"
	"                v in ('Infinity', '-Infinity') and float(v) == x\n"
	"        else:\n"
	"            ok = same_float(float(v), x)\n"
	"    elif k >= 18 and k <= 21:\n"
	"        if fmt == 'json':\n"
	"            ok = list(v) == ['$base64'] and \\\n"
	"                base64.b64decode(v['$base64'], validate=True) == x\n"
	"        else:\n"
	"            ok = v == b'\\\\x' + x.hex().encode()\n"
	"    elif fmt == 'json':\n"
	"        ok = v == x.decode('utf-8', 'replace')\n"
	"    else:\n"
	"        ok = v == x\n"
	"    assert ok, 'row %d: got %r, expected %r' % (k, v, x)\n";

/* Run the checker on the CLI's last output; returns its exit status. */
static int check_output(const char *fmt)
{
	char cmd[512];
	int status;

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && /usr/bin/python3 values.py %s cli.out values.sql",
		 dir, fmt);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Every value in every format, read back by a real parser (item 17). */
static void test_cli__every_value_every_format(void **state)
{
	static const char *const fmts[] = { "json", "csv", "text" };
	char *sql = t_write(dir, "values.sql", every_value_sql);
	char *py = t_write(dir, "values.py", every_value_py);
	char args[256];
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		snprintf(args, sizeof(args),
			 "query -c c.ini --source main --format %s "
			 "\"$(cat values.sql)\"",
			 fmts[i]);
		assert_int_equal(run(args), 0);
		if (check_output(fmts[i])) {
			print_error("--format %s: not read back whole\n",
				    fmts[i]);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	free(sql);
	free(py);
}

/* A PostgreSQL table with every kind of value PostgreSQL text can hold. */
static const char pg_setup_sql[] =
	"SET client_min_messages = warning;\n"
	"DROP TABLE IF EXISTS cli_fmt;\n"
	"CREATE TABLE cli_fmt (k int8, t text, b bytea, d float8);\n"
	"INSERT INTO cli_fmt VALUES\n"
	" (1, E'a\\tb\\nc\\r\\\\ \\x01\\x1b\\x7f \"q\", ,', '\\x00ff0a5c',"
	" 'NaN'),\n"
	" (2, '', '\\x', 'Infinity'), (3, NULL, NULL, '-Infinity'),\n"
	" (4, '\\N', '\\x5c4e', '-0'), (5, E'\\\\.', '\\x2c22', 1e300),\n"
	" (6, 'caf\xc3\xa9', NULL, 0.1), (-9223372036854775808, '\\x00ff',\n"
	"  NULL, 5);\n";

/*
 * The CLI's text (COPY) and CSV output loaded back by PostgreSQL's own
 * COPY into a copy of the table: 0 rows differ (%s: the format).
 */
static const char pg_load_sql[] =
	"\\set ON_ERROR_STOP 1\n"
	"CREATE TEMP TABLE back (LIKE cli_fmt);\n"
	"\\copy back FROM 'cli.out' WITH (FORMAT %s, HEADER true)\n"
	"SELECT count(*) FROM back;\n"
	"SELECT count(*) FROM ((SELECT k, t, b, d::text FROM cli_fmt\n"
	" EXCEPT SELECT k, t, b, d::text FROM back) UNION ALL\n"
	" (SELECT k, t, b, d::text FROM back\n"
	" EXCEPT SELECT k, t, b, d::text FROM cli_fmt)) AS differ;\n";

/* The same table as JSON: non-finite doubles as strings, bytea base64. */
static const char pg_json_py[] =
	"import base64, json, math, sys\n"
	"def no_constant(c):\n"
	"    raise ValueError('not JSON: ' + c)\n"
	"data = open('cli.out', 'rb').read().decode('utf-8')\n"
	"r = {x['k']: x for x in json.loads(data, parse_constant=no_constant)}\n"
	"assert r[1]['t'] == 'a\\tb\\nc\\r\\\\ \\x01\\x1b\\x7f \"q\", ,'\n"
	"assert base64.b64decode(r[1]['b']['$base64']) == b'\\0\\xff\\n\\\\'\n"
	"assert [r[k]['d'] for k in (1, 2, 3)] == \\\n"
	"    ['NaN', 'Infinity', '-Infinity']\n"
	"assert r[2]['b'] == {'$base64': ''} and r[2]['t'] == ''\n"
	"assert r[3]['t'] is None and r[3]['b'] is None\n"
	"assert math.copysign(1, r[4]['d']) == -1 and r[4]['d'] == 0\n"
	"assert r[5]['d'] == 1e300 and r[6]['t'] == 'caf\\u00e9'\n"
	"assert r[-9223372036854775808]['d'] == 5.0\n"
	"assert type(r[-9223372036854775808]['d']) is float\n";

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];
	int status;

	snprintf(cmd, sizeof(cmd), fmt, dir, a, b);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * PostgreSQL values (NaN and the infinities, bytea, control characters)
 * through every format, read back by PostgreSQL's COPY and by Python's
 * json (item 17). Needs the server scripts/test.sh starts.
 */
static void test_cli__postgres_every_format(void **state)
{
	static const char *const fmts[] = { "text", "csv" };
	const char *pg = getenv("DBR_TEST_PG");
	char text[1024], *files[5] = { NULL }, *answer = NULL;
	size_t i;

	(void)state;
	t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
	snprintf(text, sizeof(text),
		 "[source.pg]\ntype = postgres\nconninfo = %s\n", pg);
	files[0] = t_write(dir, "pg.ini", text);
	files[1] = t_write(dir, "pg_setup.sql", pg_setup_sql);
	files[3] = t_write(dir, "pg_json.py", pg_json_py);
	files[4] = t_path(dir, "pg.answer");
	assert_int_equal(sh("cd '%s' && psql -X -q -v ON_ERROR_STOP=1 '%s' "
			    "-f pg_setup.sql%s",
			    pg, ""),
			 0);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		snprintf(text, sizeof(text),
			 "query -c pg.ini --source pg --format %s 'SELECT * "
			 "FROM cli_fmt'",
			 fmts[i]);
		assert_int_equal(run(text), 0);
		snprintf(text, sizeof(text), pg_load_sql, fmts[i]);
		free(files[2]);
		files[2] = t_write(dir, "pg_load.sql", text);
		assert_int_equal(sh("cd '%s' && psql -X -q -tA '%s' -f "
				    "pg_load.sql >pg.answer%s",
				    pg, ""),
				 0);
		free(answer);
		answer = t_read(files[4]);
		if (strcmp(answer, "7\n0\n"))
			fail_msg("--format %s: COPY read back %s", fmts[i],
				 answer);
	}
	assert_int_equal(run("query -c pg.ini --source pg --format json "
			     "'SELECT * FROM cli_fmt'"),
			 0);
	assert_int_equal(
		sh("cd '%s' && /usr/bin/python3 pg_json.py%s%s", "", ""), 0);
	for (i = 0; i < 5; i++)
		free(files[i]);
	free(answer);
}

/*
 * Read cli.out with Python's json, failing on a repeated key (most parsers
 * keep the last silently), and print each object as KEY=VALUE,... lines.
 */
static const char keys_py[] =
	"import json\n"
	"def unique(pairs):\n"
	"    keys = [k for k, v in pairs]\n"
	"    if len(set(keys)) != len(keys):\n"
	"        raise ValueError('repeated key: %r' % keys)\n"
	"    return pairs\n"
	"data = open('cli.out', 'rb').read().decode('utf-8')\n"
	"for o in json.loads(data, object_pairs_hook=unique):\n"
	"    print(','.join('%s=%s' % kv for kv in o))\n";

/* The keys and values of the CLI's last JSON output (keys_py); a failed
 * read fails the test. */
static char *json_pairs(void)
{
	char *py = t_write(dir, "keys.py", keys_py);
	char *path = t_path(dir, "keys.answer"), *text = NULL;

	if (sh("cd '%s' && PYTHONIOENCODING=utf-8 /usr/bin/python3 keys.py "
	       ">keys.answer%s%s",
	       "", "") == 0)
		text = t_read(path);
	free(py);
	free(path);
	if (!text)
		fail_msg("python's json did not read the output: %s", out);
	return text;
}

/*
 * Review 2: --format json makes every key unique - a repeated column name,
 * a column named like a suffixed key, a column named source beside
 * --with-source, names that differ only in bytes that are not UTF-8 - and
 * a statement without columns prints [] (before: repeated keys, which
 * Python's json collapsed to the last, and nothing on stdout).
 */
static void test_cli__json_keys_unique(void **state)
{
	char *pairs;

	(void)state;
	assert_int_equal(run("query -c c.ini --source main --format json "
			     "'SELECT 1 AS a, 2 AS a, 3 AS a_2, 4 AS a'"),
			 0);
	pairs = json_pairs();
	assert_string_equal(pairs, "a=1,a_3=2,a_2=3,a_4=4\n");
	free(pairs);
	assert_int_equal(run("query -c c.ini --source main --format json "
			     "--with-source 'SELECT 1 AS source, 2 AS "
			     "source_2, 3 AS source'"),
			 0);
	pairs = json_pairs();
	assert_string_equal(pairs, "source=main,source_3=1,source_2=2,"
				   "source_4=3\n");
	free(pairs);
	assert_int_equal(run("query -c c.ini --source main --format json "
			     "\"SELECT 1 AS \\\"$(printf '\\377')\\\", 2 "
			     "AS \\\"$(printf '\\376')\\\"\""),
			 0);
	pairs = json_pairs();
	assert_string_equal(pairs, "\xef\xbf\xbd=1,\xef\xbf\xbd_2=2\n");
	free(pairs);
	assert_int_equal(run("query -c c.ini --source main --format json "
			     "'CREATE TABLE IF NOT EXISTS jk (a)'"),
			 0);
	assert_string_equal(out, "[]\n");
	assert_string_equal(err, "0 rows affected\n");
	pairs = json_pairs();
	assert_string_equal(pairs, "");
	free(pairs);
}

/* PostgreSQL names every unnamed column ?column?: one key each. */
static void test_cli__postgres_json_keys_unique(void **state)
{
	char text[1024], *ini, *pairs;

	(void)state;
	t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
	snprintf(text, sizeof(text),
		 "[source.pg]\ntype = postgres\nconninfo = %s\n",
		 getenv("DBR_TEST_PG"));
	ini = t_write(dir, "pgk.ini", text);
	assert_int_equal(run("query -c pgk.ini --source pg --format json "
			     "'SELECT 1, 2, 3 AS \"?column?_2\"'"),
			 0);
	pairs = json_pairs();
	assert_string_equal(pairs, "?column?=1,?column?_3=2,?column?_2=3\n");
	free(pairs);
	free(ini);
}

/*
 * Control characters a message quotes (a table name, a path, an argument)
 * are shown as \xHH on stderr, and escaped in check's tab-separated
 * fields: none can rewrite the terminal or split a line.
 */
static void test_cli__messages_escaped(void **state)
{
	char *cfg;

	(void)state;
	assert_int_equal(run("query -c c.ini --chat 5 \"SELECT * FROM "
			     "\\\"$(printf 't\\033[2J\\r')\\\"\""),
			 1);
	assert_non_null(strstr(err, "no such table: t\\x1b[2J\\x0d\n"));
	assert_null(strpbrk(err, "\033\r"));
	assert_int_equal(run("route -c c.ini \"$(printf '\\033[31m')\""), 2);
	assert_non_null(strstr(err, "bad chat id '\\x1b[31m'"));
	assert_null(strchr(err, '\033'));
	cfg = t_write(dir, "ctl.ini",
		      "[source.z]\ntype = sqlite\npath = no\tsuch\033/z.db\n");
	assert_int_equal(run("check -c ctl.ini"), 1);
	assert_non_null(strstr(out, "z\tsqlite\tunavailable: "));
	assert_non_null(strstr(out, "no\\tsuch\\x1b/z.db"));
	assert_null(strchr(out, '\033'));
	assert_non_null(strstr(err, "dbroute: warn: source 'z': "));
	assert_null(strchr(err, '\033'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	free(cfg);
}

static void test_cli__query_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run("query -c c.ini 'SELECT 1'"), 2);
	assert_non_null(strstr(err, "exactly one of"));
	assert_int_equal(run("query -c c.ini --chat 1 --scope x 'SELECT 1'"),
			 2);
	assert_int_equal(run("query -c c.ini --chat abc 'SELECT 1'"), 2);
	assert_int_equal(run("query -c c.ini --chat 1"), 2);
	assert_int_equal(run("query -c c.ini --chat 1 --param"), 2);
	assert_non_null(strstr(err, "--param needs a value"));
	assert_int_equal(run("query -c c.ini --chat 1 --bogus 'SELECT 1'"), 2);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	assert_int_equal(run("query -c c.ini --source nope 'SELECT 1'"), 2);
	assert_non_null(strstr(err, "no source named 'nope'"));
	assert_int_equal(run("query -c c.ini --chat 1 --format xml 'SELECT "
			     "1'"),
			 2);
	assert_int_equal(run("query -c c.ini --chat 1 --param-int 1.5 "
			     "'SELECT ?'"),
			 2);
	assert_int_equal(run("query -c c.ini --chat=1 --param-double=2.5 "
			     "'SELECT ?'"),
			 0);
	assert_string_equal(out, "?\n2.5\n");
	assert_int_equal(run("query -c c.ini --chat 1 --param-null "
			     "'SELECT ? IS NULL'"),
			 0);
	assert_string_equal(out, "? IS NULL\n1\n");
}

/*
 * query -f FILE and -f - read a script from a file or standard input;
 * '-' as the statement is refused, never sent as SQL (issue 12 item 9).
 */
static void test_cli__query_from_file(void **state)
{
	char *q = t_write(dir, "q.sql", "SELECT 40 + 2 AS answer;\n");
	char *two = t_write(dir, "two.sql", "SELECT 1; SELECT 2;\n");
	char *nul = t_write(dir, "nul.sql", "SELECT 1");
	FILE *f;

	(void)state;
	assert_int_equal(run("query -c c.ini --chat 1 -f q.sql"), 0);
	assert_string_equal(out, "answer\n42\n");
	assert_int_equal(run("query -c c.ini --chat 1 --file=q.sql"), 0);
	assert_string_equal(out, "answer\n42\n");
	assert_int_equal(run("query -c c.ini --chat 1 -f - < q.sql"), 0);
	assert_string_equal(out, "answer\n42\n");
	assert_int_equal(run("query -c c.ini --chat 1 -"), 2);
	assert_non_null(strstr(err, "'-' is not a statement"));
	assert_int_equal(run("query -c c.ini --chat 1 -- -"), 2);
	assert_int_equal(run("query -c c.ini --chat 1 -f q.sql 'SELECT 1'"), 2);
	assert_int_equal(run("query -c c.ini --chat 1 -f missing.sql"), 2);
	assert_non_null(strstr(err, "-f 'missing.sql': cannot open"));
	assert_int_equal(run("query -c c.ini --chat 1 -f two.sql"), 0);
	assert_string_equal(out, "1\n1\n2\n2\n");
	f = fopen(nul, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite("\0", 1, 1, f), 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(run("query -c c.ini --chat 1 -f nul.sql"), 2);
	assert_non_null(strstr(err, "not a text file"));
	free(q);
	free(two);
	free(nul);
}

/* Each line of cli.out read by Python's json: its array's length. */
static const char lines_py[] =
	"import json\n"
	"for line in open('cli.out', encoding='utf-8'):\n"
	"    v = json.loads(line)\n"
	"    assert type(v) is list\n"
	"    print(len(v), ','.join(sorted(v[0])) if v else '')\n";

/*
 * query -f runs every statement of a script in order (issue 15 item 5):
 * SQLite trigger bodies and quotes, one JSON array per statement per line
 * (read by Python's json), the first error stops it at FILE:LINE, and
 * --single-transaction rolls the whole script back; -f with --param, a
 * fan-out or a key-value source is a usage error.
 */
static void test_cli__query_script(void **state)
{
	char *files[6], *answer;

	(void)state;
	files[0] = t_write(dir, "s1.sql",
			   "CREATE TABLE s1 (a INTEGER, b TEXT);\n"
			   "CREATE TRIGGER s1t AFTER INSERT ON s1 BEGIN\n"
			   "  UPDATE s1 SET b = b || ';' WHERE a = new.a;\n"
			   "END;\n"
			   "INSERT INTO s1 VALUES (1, 'x'), (2, 'y');\n"
			   "SELECT a, b FROM s1 ORDER BY a;\n"
			   "SELECT count(*) AS n FROM s1;\n");
	files[1] = t_write(dir, "s2.sql",
			   "INSERT INTO s1 VALUES (3, 'z');\n"
			   "-- the next line fails\n"
			   "\n"
			   "INSERT INTO nowhere VALUES (1);\n"
			   "INSERT INTO s1 VALUES (4, 'w');\n");
	files[2] = t_path(dir, "lines.py");
	free(files[2]);
	files[2] = t_write(dir, "lines.py", lines_py);
	files[3] =
		t_write(dir, "kv.ini", "[source.kv]\ntype = redis\nport = 1\n");
	files[4] = t_write(dir, "s3.sql", "SELECT 1;\n'open\n");
	files[5] = t_path(dir, "lines.answer");
	assert_int_equal(run("query -c c.ini --source groups --format json "
			     "-f s1.sql"),
			 0);
	assert_int_equal(sh("cd '%s' && /usr/bin/python3 lines.py "
			    ">lines.answer%s%s",
			    "", ""),
			 0);
	answer = t_read(files[5]);
	assert_string_equal(answer, "0 \n0 \n0 \n2 a,b\n1 n\n");
	free(answer);
	assert_int_equal(run("query -c c.ini --source groups -f s1.sql"), 1);
	assert_non_null(strstr(err, "dbroute: s1.sql:1: source 'groups': "));
	assert_int_equal(run("query -c c.ini --scope settings "
			     "--single-transaction -f s2.sql"),
			 1);
	assert_non_null(strstr(err, "dbroute: s2.sql:4: source 'groups': "));
	assert_int_equal(run("query -c c.ini --source groups 'SELECT "
			     "group_concat(a) FROM s1'"),
			 0);
	assert_string_equal(out, "group_concat(a)\n1,2\n");
	assert_int_equal(run("query -c c.ini --source groups -f - < s2.sql"),
			 1);
	assert_non_null(strstr(err, "dbroute: <stdin>:4: "));
	assert_int_equal(run("query -c c.ini --source groups 'SELECT "
			     "group_concat(a) FROM s1'"),
			 0);
	assert_string_equal(out, "group_concat(a)\n1,2,3\n");
	/* A script that cannot be split: SCRIPT:LINE, as a statement's. */
	assert_int_equal(run("query -c c.ini --chat 1 -f s3.sql"), 1);
	assert_non_null(strstr(err, "dbroute: s3.sql:2: source '"));
	assert_non_null(strstr(err, "': unterminated quoted string"));
	assert_string_equal(out, "");
	assert_int_equal(run("query -c c.ini --chat 1 -f - < s3.sql"), 1);
	assert_non_null(strstr(err, "dbroute: <stdin>:2: source '"));
	assert_int_equal(run("query -c c.ini --chat 1 --param 1 -f s1.sql"), 2);
	assert_int_equal(run("query -c c.ini --all -f s1.sql"), 2);
	assert_int_equal(run("query -c c.ini --source main --source groups "
			     "-f s1.sql"),
			 2);
	assert_int_equal(run("query -c c.ini --chat 1 --single-transaction "
			     "'SELECT 1'"),
			 2);
	assert_int_equal(run("query -c kv.ini --source kv -f s1.sql"), 2);
	assert_non_null(strstr(err, "source 'kv' takes key-value commands"));
	for (int i = 0; i < 6; i++)
		free(files[i]);
}

/* Write a migration file into dir/mig. */
static void mig_file(const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "mig/%s", name);
	free(t_write(dir, path, text));
}

/* Read cli.out as CSV with Python's csv: rows joined by '|'. */
static const char csv_py[] =
	"import csv\n"
	"for row in csv.reader(open('cli.out', newline='')):\n"
	"    print('|'.join(row))\n";

/*
 * dbroute migrate and migrate status (issue 15 items 2, 3): applied to
 * the writable SQL sources, a read-only and a key-value source skipped,
 * the status in text (no header), CSV and JSON read back by Python's
 * parsers, --to, --dry-run, a changed file, exit codes.
 */
static void test_cli__migrate(void **state)
{
	char *files[3], *answer;

	(void)state;
	assert_int_equal(sh("mkdir -p '%s/mig'%s%s", "", ""), 0);
	files[0] = t_write(dir, "m.ini",
			   "[database]\ndefault_source = a\n"
			   "[source.a]\ntype = sqlite\npath = ma.db\n"
			   "[source.ro]\ntype = sqlite\npath = ma.db\n"
			   "readonly = true\n"
			   "[source.kv]\ntype = redis\nport = 1\n");
	files[1] = t_write(dir, "read_csv.py", csv_py);
	files[2] = NULL;
	mig_file("0001_one.sql", "CREATE TABLE one (x INT);\n");
	mig_file("0002_two.sql", "CREATE TABLE two (x INT);\n");
	mig_file("0003_three.sqlite.sql", "CREATE TABLE three (x INT);\n");
	mig_file("notes.txt", "not a migration\n");
	files[2] = t_path(dir, "ma.db");
	/* status and --dry-run never write: no database file created. */
	assert_int_equal(run("migrate status -c m.ini --dir mig"), 0);
	assert_string_equal(out, "a\t0\tpending\t3\t0\n"
				 "ro\t-\tskipped\t0\t0\n"
				 "kv\t-\tskipped\t0\t0\n");
	assert_non_null(strstr(err, "ignoring 'notes.txt'"));
	assert_non_null(strstr(err, "source 'a': the database does not "
				    "exist yet"));
	/* status prints its table, no progress lines. */
	assert_null(strstr(err, "would apply"));
	assert_int_equal(access(files[2], F_OK), -1);
	assert_int_equal(run("migrate -c m.ini --dir mig --dry-run"), 0);
	assert_non_null(strstr(err, "would apply 0001_one.sql"));
	assert_int_equal(access(files[2], F_OK), -1);
	free(files[2]);
	assert_int_equal(run("migrate -c m.ini --dir mig --to 2"), 0);
	assert_string_equal(out, "a\t2\tok\t0\t0\n"
				 "ro\t-\tskipped\t0\t0\n"
				 "kv\t-\tskipped\t0\t0\n");
	assert_int_equal(run("migrate status -c m.ini --dir mig --format csv "
			     "--source a"),
			 0);
	assert_int_equal(sh("cd '%s' && /usr/bin/python3 read_csv.py "
			    ">csv.answer%s%s",
			    "", ""),
			 0);
	files[2] = t_path(dir, "csv.answer");
	answer = t_read(files[2]);
	assert_string_equal(answer, "source|version|state|pending|changed\n"
				    "a|2|pending|1|0\n");
	free(answer);
	assert_int_equal(run("migrate -c m.ini --dir mig"), 0);
	mig_file("0001_one.sql", "CREATE TABLE one (x INT, y INT);\n");
	assert_int_equal(run("migrate status -c m.ini --dir mig --format "
			     "json"),
			 0);
	answer = json_pairs();
	assert_string_equal(answer, "source=a,version=3,state=changed,"
				    "pending=0,changed=1\n"
				    "source=ro,version=-,state=skipped,"
				    "pending=0,changed=0\n"
				    "source=kv,version=-,state=skipped,"
				    "pending=0,changed=0\n");
	free(answer);
	mig_file("0004_four.sql", "CREATE TABLE four (x INT);\n");
	assert_int_equal(run("migrate -c m.ini --dir mig"), 1);
	assert_non_null(strstr(err, "source 'a': 1 applied file(s) changed"));
	assert_int_equal(run("migrate -c m.ini --dir mig --allow-changed"), 0);
	assert_non_null(strstr(out, "a\t4\tok\t0\t1\n"));
	/* A late file (below the version, never applied) is warned about. */
	mig_file("0006_six.sql", "CREATE TABLE six (x INT);\n");
	assert_int_equal(run("migrate -c m.ini --dir mig --allow-changed"), 0);
	mig_file("0005_five.sql", "CREATE TABLE five (x INT);\n");
	assert_int_equal(run("migrate status -c m.ini --dir mig"), 0);
	assert_non_null(strstr(out, "a\t6\tchanged\t0\t1\n"));
	assert_non_null(strstr(err, "dbroute: warn: source 'a': late file "
				    "'0005_five.sql': below version 6"));
	/* Its row says so, not ok (still exit 0: a warning). */
	assert_int_equal(run("migrate -c m.ini --dir mig --allow-changed"), 0);
	assert_non_null(strstr(out, "a\t6\tlate\t0\t1\n"));
	mig_file("0001_one.sql", "CREATE TABLE one (x INT);\n");
	assert_int_equal(run("migrate status -c m.ini --dir mig --source a "
			     "--format csv"),
			 0);
	assert_string_equal(out, "source,version,state,pending,changed\n"
				 "a,6,late,0,0\n");
	assert_int_equal(run("migrate status -c m.ini --dir mig --source a "
			     "--format json"),
			 0);
	assert_non_null(strstr(out, "\"state\":\"late\""));
	assert_non_null(strstr(err, "late file '0005_five.sql'"));
	assert_null(strstr(err, "applied 0005"));
	/* Usage errors. */
	assert_int_equal(run("migrate -c m.ini"), 2);
	assert_int_equal(run("migrate -c m.ini --dir nowhere"), 2);
	assert_int_equal(run("migrate -c m.ini --dir mig --source zz"), 2);
	assert_int_equal(run("migrate -c m.ini --dir mig --force-version 2"),
			 2);
	assert_int_equal(run("migrate -c m.ini --dir mig --to x"), 2);
	assert_int_equal(run("migrate status -c m.ini --dir mig --dry-run"), 2);
	assert_int_equal(run("migrate stats -c m.ini --dir mig"), 2);
	assert_int_equal(run("migrate -c m.ini --dir mig --chat 1"), 2);
	for (int i = 0; i < 3; i++)
		free(files[i]);
}

/*
 * A source's failure after sources ran is exit 1 with the per-source
 * summary, whatever its error code (a bare ? in a file is a misuse of the
 * statement call); exit 2 is for errors before any source ran.
 */
static void test_cli__migrate_source_failure_exit(void **state)
{
	char *ini;

	(void)state;
	assert_int_equal(sh("rm -rf '%s/qm' && mkdir '%s/qm'", dir, ""), 0);
	ini = t_write(dir, "qm.ini",
		      "[database]\ndefault_source = a\n"
		      "[source.a]\ntype = sqlite\npath = qm.db\n");
	free(t_write(dir, "qm/0001_one.sql", "CREATE TABLE one (x INT);\n"));
	free(t_write(dir, "qm/0002_q.sql",
		     "CREATE TABLE two (x INT);\n"
		     "SELECT ?;\n"));
	assert_int_equal(run("migrate -c qm.ini --dir qm"), 1);
	assert_string_equal(out, "a\t1\tpending\t1\t0\n");
	assert_non_null(strstr(err, "0002_q.sql:2: "));
	assert_int_equal(run("migrate -c qm.ini --dir qm --source zz"), 2);
	free(ini);
}

/*
 * A variant whose TYPE no driver serves (a typo, or a dotted name) is
 * never applied: warned about, naming the file and the nearest type.
 */
static void test_cli__migrate_unknown_variant(void **state)
{
	char *ini;

	(void)state;
	assert_int_equal(sh("rm -rf '%s/uv' && mkdir '%s/uv'", dir, ""), 0);
	ini = t_write(dir, "uv.ini",
		      "[database]\ndefault_source = a\n"
		      "[source.a]\ntype = sqlite\npath = uv.db\n");
	free(t_write(dir, "uv/0001_one.sql", "CREATE TABLE one (x INT);\n"));
	free(t_write(dir, "uv/0002_two.postgresql.sql", "SELECT 1;\n"));
	free(t_write(dir, "uv/0003_three.v2.sql", "SELECT 1;\n"));
	free(t_write(dir, "uv/0004_four.postgres.sql", "SELECT 1;\n"));
	assert_int_equal(run("migrate status -c uv.ini --dir uv"), 0);
	if (!strstr(err, "'0002_two.postgresql.sql': 'postgresql' is no "
			 "driver's type (did you mean 'postgres'?)") ||
	    !strstr(err, "'0003_three.v2.sql': 'v2' is no driver's type") ||
	    strstr(err, "'0004_four.postgres.sql': 'postgres' is no"))
		fail_msg("%s", err);
	free(ini);
}

/*
 * Two dbroute migrate processes at once on one SQLite file and, when the
 * suite started it, one PostgreSQL database: each of 20 files runs once.
 */
static void test_cli__migrate_two_processes(void **state)
{
	char text[2048], body[128], name[64], conninfo[1024], *ini;
	bool pg = t_pg_database("dbroute_mig_cli", conninfo, sizeof(conninfo));
	int i;

	(void)state;
	assert_int_equal(sh("rm -rf '%s/race' && mkdir -p '%s/race'", dir, ""),
			 0);
	free(t_write(dir, "race/0001_log.sql", "CREATE TABLE log (f INT);\n"));
	for (i = 2; i <= 20; i++) {
		snprintf(name, sizeof(name), "race/%04d_f.sql", i);
		snprintf(body, sizeof(body),
			 "CREATE TABLE t%d (x INT);\n"
			 "INSERT INTO log VALUES (%d);\n",
			 i, i);
		free(t_write(dir, name, body));
	}
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = a\n"
		 "[source.a]\ntype = sqlite\npath = race.db\ntimeout = 30\n"
		 "%s%s%s",
		 pg ? "[source.pg]\ntype = postgres\nconninfo = " : "",
		 pg ? conninfo : "", pg ? "\n" : "");
	ini = t_write(dir, "race.ini", text);
	if (sh("cd '%s' && ('" DBR_CLI "' migrate -c race.ini --dir race "
	       ">r1.out 2>&1 & '" DBR_CLI "' migrate -c race.ini --dir race "
	       ">r2.out 2>&1; s=$?; wait $! && exit $s)%s%s",
	       "", ""))
		fail_msg("a migrate process failed: see %s/r1.out, r2.out",
			 dir);
	assert_int_equal(run("query -c race.ini --source a 'SELECT count(*), "
			     "count(DISTINCT f) FROM log'"),
			 0);
	assert_string_equal(out, "count(*)\tcount(DISTINCT f)\n19\t19\n");
	if (pg) {
		assert_int_equal(run("query -c race.ini --source pg 'SELECT "
				     "count(*) AS n FROM log'"),
				 0);
		assert_string_equal(out, "n\n19\n");
	}
	free(ini);
}
/*
 * PostgreSQL statements whose ';' do not end them (psql's rules, the
 * splitter's): a BEGIN ATOMIC function body and CREATE RULE ... DO (a; b)
 * are applied by migrate and run by query -f, each as one statement.
 */
static void test_cli__postgres_atomic_bodies(void **state)
{
	char text[2048], conninfo[1024], *ini;

	(void)state;
	if (!t_pg_database("dbroute_cli_atomic", conninfo, sizeof(conninfo))) {
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
		return;
	}
	snprintf(text, sizeof(text),
		 "[source.pg]\ntype = postgres\nconninfo = %s\n", conninfo);
	ini = t_write(dir, "atomic.ini", text);
	assert_int_equal(
		sh("rm -rf '%s/atomic' && mkdir -p '%s/atomic' '%s/mig'", dir,
		   dir),
		0);
	mig_file("../atomic/0001_f.sql",
		 "CREATE TABLE t1 (x int);\n"
		 "CREATE FUNCTION f1() RETURNS int LANGUAGE sql\n"
		 "BEGIN ATOMIC\n"
		 "  SELECT 1;\n"
		 "  SELECT CASE WHEN 1 = 1 THEN 2 END;\n"
		 "END;\n"
		 "INSERT INTO t1 VALUES (f1());\n");
	mig_file("../atomic/0002_rule.sql",
		 "CREATE TABLE r1 (x int);\nCREATE TABLE r2 (x int);\n"
		 "CREATE RULE r AS ON INSERT TO r1 DO ALSO\n"
		 "  (INSERT INTO r2 VALUES (new.x);\n"
		 "   INSERT INTO r2 VALUES (new.x + 1));\n");
	if (run("migrate -c atomic.ini --dir atomic"))
		fail_msg("migrate: %s", err);
	assert_string_equal(out, "pg\t2\tok\t0\t0\n");
	assert_int_equal(run("query -c atomic.ini --source pg 'INSERT INTO r1 "
			     "VALUES (10)'"),
			 0);
	assert_int_equal(run("query -c atomic.ini --source pg 'SELECT "
			     "(SELECT x FROM t1) AS f, (SELECT sum(x) FROM "
			     "r2) AS r'"),
			 0);
	assert_string_equal(out, "f\tr\n2\t21\n");
	free(t_write(dir, "atomic.sql",
		     "CREATE FUNCTION f2(a int) RETURNS int LANGUAGE sql\n"
		     "BEGIN ATOMIC\n  SELECT a + 1;\nEND;\n"
		     "SELECT f2(41) AS v;\n"));
	if (run("query -c atomic.ini --source pg -f atomic.sql"))
		fail_msg("query -f: %s", err);
	assert_non_null(strstr(out, "v\n42\n"));
	free(ini);
}

/*
 * A typo in a command, an option or a --source name is answered with the
 * nearest one (issue 12 item 6); a word near nothing gets no guess.
 */
static void test_cli__did_you_mean(void **state)
{
	(void)state;
	assert_int_equal(run("qurey -c c.ini --chat 1 'SELECT 1'"), 2);
	assert_non_null(strstr(err, "unknown command 'qurey'; did you mean "
				    "'query'?"));
	assert_int_equal(run("query -c c.ini --chat 1 --parm 1 'SELECT ?'"), 2);
	assert_non_null(strstr(err, "unknown option '--parm'; did you mean "
				    "'--param'?"));
	assert_int_equal(run("query -c c.ini --chat 1 --sourec=main 'SELECT "
			     "1'"),
			 2);
	assert_non_null(strstr(err, "did you mean '--source'?"));
	assert_int_equal(run("query -c c.ini --source mian 'SELECT 1'"), 2);
	assert_non_null(strstr(err, "no source named 'mian'; did you mean "
				    "'main'?"));
	assert_int_equal(run("query -c c.ini --source main --source gropus "
			     "'SELECT 1'"),
			 2);
	assert_non_null(strstr(err, "did you mean 'groups'?"));
	assert_int_equal(run("query -c c.ini --source zzzzzz 'SELECT 1'"), 2);
	assert_null(strstr(err, "did you mean"));
	assert_int_equal(run("query -c c.ini --chat 1 -x 'SELECT 1'"), 2);
	assert_null(strstr(err, "did you mean"));
}

/* A SQLite source whose folder the user cannot write: unavailable with a
 * clear error, the other source keeps working (as root the CLI runs as
 * nobody: t_run_cli_unprivileged). */
static void test_cli__unwritable_folder(void **state)
{
	char *locked = t_path(dir, "locked"), *good = t_path(dir, "good");
	char *cfg;

	(void)state;
	assert_int_equal(mkdir(locked, 0555), 0);
	assert_int_equal(mkdir(good, 0777), 0);
	assert_int_equal(chmod(good, 0777), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	cfg = t_write(dir, "perm.ini",
		      "[database]\ndefault_source = good\nfallback = none\n"
		      "[source.good]\ntype = sqlite\npath = good/g.db\n"
		      "[source.locked]\ntype = sqlite\npath = locked/l.db\n"
		      "[chat_mapping]\n-5 = locked\n");
	assert_int_equal(chmod(cfg, 0644), 0);
	assert_int_equal(
		t_run_cli_unprivileged(dir, "check -c perm.ini", &out, &err),
		1);
	assert_non_null(strstr(out, "good\tsqlite\tok\t"));
	assert_non_null(strstr(out, "locked\tsqlite\tunavailable: source "
				    "'locked': cannot open '"));
	assert_non_null(strstr(out, "unable to open database file"));
	assert_int_equal(t_run_cli_unprivileged(dir,
						"query -c perm.ini --chat -5 "
						"'SELECT 1'",
						&out, &err),
			 1);
	assert_non_null(strstr(err, "source 'locked' is unavailable (cannot "
				    "open"));
	assert_int_equal(t_run_cli_unprivileged(dir,
						"query -c perm.ini --chat 5 "
						"'SELECT 1 AS one'",
						&out, &err),
			 0);
	assert_string_equal(out, "one\n1\n");
	free(cfg);
	free(locked);
	free(good);
}

/* Bad input of every kind: exit 2 and a message, never a crash. */
static void test_cli__malformed_input_catalogue(void **state)
{
	static const struct {
		const char *args, *says;
	} bad[] = {
		{ "check", "-c FILE is required" },
		{ "check -c", "-c needs a value" },
		{ "check -c c.ini -c c.ini", "given twice" },
		{ "check -c c.ini extra", "check takes only" },
		{ "check -c c.ini --chat 1", "check takes only" },
		{ "check --help", "must come alone" },
		{ "route -c c.ini --scope x 1", "route takes only" },
		{ "route -c c.ini --param 1 1", "route takes only" },
		{ "route -c c.ini ''", "bad chat id ''" },
		{ "route -c c.ini -- -x", "bad chat id '-x'" },
		{ "query -c c.ini --chat 1 --source main 'SELECT 1'",
		  "exactly one of" },
		{ "query -c c.ini --chat 1 'SELECT 1' 'SELECT 2'",
		  "exactly one 'STATEMENT'" },
		{ "query -c c.ini --chat 1 --format",
		  "--format needs a value" },
		{ "query -c c.ini --chat 1 --param-double abc 'SELECT ?'",
		  "bad --param-double 'abc'" },
		{ "query -c c.ini --chat 1 --param-int '' 'SELECT ?'",
		  "bad --param-int ''" },
		{ "query -c c.ini --chat 1 --param-null=1 'SELECT ?'",
		  "takes no value" },
		{ "query -c c.ini --chat 99999999999999999999 'SELECT 1'",
		  "bad chat id" },
		{ "query -c c.ini --chat 1 --=x 'SELECT 1'", "unknown option" },
		{ "query -c c.ini --chat 1 -x 'SELECT 1'", "unknown option" },
		{ "-x", "unknown command '-x'" },
		{ "check -c .", "is a directory" },
		{ "check -c garbage.ini", "garbage.ini:" },
		{ "check -c huge.ini", "huge.ini:1: line is too long" },
	};
	char *path, garbage[4096], args[40000];
	size_t i, n;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)((i * 7919 + 13) % 256);
	path = t_path(dir, "garbage.ini");
	f = fopen(path, "wb");
	fwrite(garbage, 1, sizeof(garbage), f);
	fclose(f);
	free(path);
	path = t_path(dir, "huge.ini");
	f = fopen(path, "wb");
	for (i = 0; i < 1000000; i++)
		putc('k', f);
	fputs(" = v\n", f);
	fclose(f);
	free(path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = run(bad[i].args);

		if (rc != 2 || !strstr(err, bad[i].says))
			fail_msg("dbroute %s: exit %d, stderr: %s", bad[i].args,
				 rc, err);
	}
	/* A chat id of 10,000 digits; 1,001 parameters. */
	n = (size_t)snprintf(args, sizeof(args), "route -c c.ini ");
	memset(args + n, '9', 10000);
	args[n + 10000] = '\0';
	assert_int_equal(run(args), 2);
	assert_non_null(strstr(err, "bad chat id"));
	n = (size_t)snprintf(args, sizeof(args), "query -c c.ini --chat 1");
	for (i = 0; i < 1001; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, " --param x");
	snprintf(args + n, sizeof(args) - n, " 'SELECT 1'");
	assert_int_equal(run(args), 2);
	assert_non_null(strstr(err, "more than 1000 parameters"));
}

/* An enormous parameter goes through whole. */
static void test_cli__enormous_parameter(void **state)
{
	static char args[300000];
	size_t n;

	(void)state;
	n = (size_t)snprintf(args, sizeof(args),
			     "query -c c.ini --chat 1 --param ");
	memset(args + n, 'z', 100000); /* one argv string: < 128 KiB */
	snprintf(args + n + 100000, sizeof(args) - n - 100000,
		 " 'SELECT length(?) AS n'");
	assert_int_equal(run(args), 0);
	assert_string_equal(out, "n\n100000\n");
}

/* A configuration the user may not read (as root the CLI runs as nobody:
 * t_run_cli_unprivileged). */
static void test_cli__unreadable_config(void **state)
{
	char *secret = t_write(dir, "secret.ini", "[source.a]\n");

	(void)state;
	assert_int_equal(chmod(secret, 0600), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(
		t_run_cli_unprivileged(dir, "check -c secret.ini", &out, &err),
		2);
	assert_string_equal(err, "secret.ini: cannot open: Permission "
				 "denied\n");
	free(secret);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli__help_and_version),
		cmocka_unit_test(test_cli__route_negative_ids),
		cmocka_unit_test(test_cli__check),
		cmocka_unit_test(test_cli__check_many_sources),
		cmocka_unit_test(test_cli__query_copy_text),
		cmocka_unit_test(test_cli__every_value_every_format),
		cmocka_unit_test(test_cli__postgres_every_format),
		cmocka_unit_test(test_cli__json_keys_unique),
		cmocka_unit_test(test_cli__postgres_json_keys_unique),
		cmocka_unit_test(test_cli__messages_escaped),
		cmocka_unit_test(test_cli__query_usage_errors),
		cmocka_unit_test(test_cli__query_from_file),
		cmocka_unit_test(test_cli__query_script),
		cmocka_unit_test(test_cli__migrate),
		cmocka_unit_test(test_cli__migrate_source_failure_exit),
		cmocka_unit_test(test_cli__migrate_unknown_variant),
		cmocka_unit_test(test_cli__migrate_two_processes),
		cmocka_unit_test(test_cli__postgres_atomic_bodies),
		cmocka_unit_test(test_cli__did_you_mean),
		cmocka_unit_test(test_cli__unwritable_folder),
		cmocka_unit_test(test_cli__malformed_input_catalogue),
		cmocka_unit_test(test_cli__enormous_parameter),
		cmocka_unit_test(test_cli__unreadable_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
