"""Build the cffi extension dbroute._native (cffi's API mode).

The cdef below declares only what the binding uses. Structs end in `...;`
and array sizes and enum values are `...`, so the C compiler takes every
layout and value from the real dbroute.h when the extension is built:
nothing here is trusted by hand.

Where the library is:
  - DBROUTE_BUILD_DIR set: a CMake build folder of dbroute (the project's
    own tests); the header comes from its source folder.
  - otherwise pkg-config's `dbroute` (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
    for an install in PREFIX).
Either way the library's folder is written into the extension's RPATH, so
it loads without LD_LIBRARY_PATH.
"""
import os
import re
import shlex
import subprocess

from cffi import FFI

CDEF = r"""
#define DBR_VERSION_NUMBER ...
#define DBR_NAME_SIZE ...

enum dbr_status {
	DBR_OK, DBR_E_CONN, DBR_E_STMT, DBR_E_CONSTRAINT, DBR_E_TIMEOUT,
	DBR_E_CONFIG, DBR_E_NOMEM, DBR_E_MISUSE, DBR_E_UNSUPPORTED, DBR_E_ABI,
	DBR_E_READONLY, DBR_E_NOTFOUND, DBR_E_UNAVAILABLE, DBR_E_RESOURCE,
	DBR_E_NOTLOADED, DBR_E_STALE, DBR_E_MOVING,
	DBR_ROW, DBR_DONE, ...
};

struct dbr_error {
	int code;
	int native_code;
	char sqlstate[...];
	bool truncated;
	bool retryable;
	char source[...];
	char message[...];
	const char *hint;
	...;
};

enum dbr_type {
	DBR_TYPE_NULL, DBR_TYPE_INT64, DBR_TYPE_DOUBLE, DBR_TYPE_TEXT,
	DBR_TYPE_BLOB, DBR_TYPE_BOOL, DBR_TYPE_TIMESTAMP, ...
};

struct dbr_value {
	int type;
	size_t len;
	union {
		int64_t i;
		double d;
		const char *s;
		const void *b;
	} u;
	...;
};

enum dbr_source_flags {
	DBR_SOURCE_SQL, DBR_SOURCE_KV, DBR_SOURCE_TRANSACTIONS,
	DBR_SOURCE_READONLY, ...
};
enum dbr_source_state { DBR_SOURCE_AVAILABLE, DBR_SOURCE_UNAVAILABLE, ... };
enum dbr_route_reason {
	DBR_ROUTE_EXPLICIT, DBR_ROUTE_SCOPE, DBR_ROUTE_MAPPED,
	DBR_ROUTE_DEFAULT, DBR_ROUTE_STORE, ...
};
enum dbr_fanout_flags {
	DBR_FANOUT_SEQUENTIAL, DBR_FANOUT_ALLOW_PARTIAL, DBR_FANOUT_DISTINCT,
	...
};

struct dbr;
struct dbr_result;
struct dbr_tx;
struct dbr_fanout;

struct dbr_open_options;

struct dbr_source_info {
	size_t size;
	char name[...];
	char type[...];
	unsigned flags;
	bool is_default;
	char driver_version[...];
	char driver_origin[...];
	...;
};

#define DBR_HISTOGRAM_BUCKETS ...
#define DBR_TOP_CHATS ...

struct dbr_histogram {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t bucket[...];
	...;
};

struct dbr_chat_load {
	int64_t chat;
	uint64_t ops;
	uint64_t time_ns;
	...;
};

struct dbr_source_stats {
	size_t size;
	uint64_t ops;
	uint64_t errors;
	uint64_t diverted;
	int state;
	int64_t since;
	uint32_t pool_max;
	uint32_t pool_open;
	uint32_t pool_in_use;
	uint32_t pool_idle;
	uint32_t pool_waiters;
	int metrics;
	uint32_t pool_opening;
	uint64_t ops_by_kind[...];
	uint64_t errors_by_code[...];
	uint64_t routed[...];
	uint64_t probes;
	int64_t state_since;
	uint64_t connects;
	uint64_t connect_failures;
	uint64_t discarded;
	struct dbr_histogram statement_time;
	struct dbr_histogram acquire_wait;
	uint32_t ntop_ops;
	uint32_t ntop_time;
	struct dbr_chat_load top_ops[...];
	struct dbr_chat_load top_time[...];
	...;
};

uint64_t dbr_histogram_bound(size_t i);
int dbr_metrics_write(struct dbr *db,
		      int (*write)(void *ud, const char *text, size_t len),
		      void *ud, struct dbr_error *err);

int dbr_version_number(void);
const char *dbr_version(void);
const char *dbr_strerror(int code);
const char *dbr_route_reason_name(int reason);

int dbr_open(struct dbr **out, const char *config_path,
	     const struct dbr_open_options *opts, struct dbr_error *err);
void dbr_close(struct dbr *db);

int dbr_route_chat(struct dbr *db, int64_t chat, char *source, size_t cap,
		   int *reason);
int dbr_route_scope(struct dbr *db, const char *scope, char *source,
		    size_t cap, int *reason);
int dbr_default_source(struct dbr *db, char *source, size_t cap);

int dbr_query(struct dbr *db, int64_t chat, const char *sql,
	      const struct dbr_value *params, size_t nparams,
	      struct dbr_result **out, struct dbr_error *err);
struct dbr_param {
	const char *name;
	struct dbr_value value;
};
int dbr_query_named(struct dbr *db, int64_t chat, const char *sql,
		    const struct dbr_param *params, size_t nparams,
		    struct dbr_result **out, struct dbr_error *err);
int dbr_tx_query_named(struct dbr_tx *tx, const char *sql,
		       const struct dbr_param *params, size_t nparams,
		       struct dbr_result **out, struct dbr_error *err);
int dbr_query_scope(struct dbr *db, const char *scope, const char *sql,
		    const struct dbr_value *params, size_t nparams,
		    struct dbr_result **out, struct dbr_error *err);
int dbr_query_source(struct dbr *db, const char *source, const char *sql,
		     const struct dbr_value *params, size_t nparams,
		     struct dbr_result **out, struct dbr_error *err);

int dbr_result_next(struct dbr_result *res);
size_t dbr_result_column_count(const struct dbr_result *res);
const char *dbr_result_column_name(const struct dbr_result *res,
				   size_t col);
int dbr_result_value(struct dbr_result *res, size_t col,
		     struct dbr_value *out);
int64_t dbr_result_changes(const struct dbr_result *res);
bool dbr_result_last_insert_id(const struct dbr_result *res, int64_t *id);
const char *dbr_result_source(const struct dbr_result *res);
const char *dbr_result_diverted_from(const struct dbr_result *res);
const struct dbr_error *dbr_result_error(const struct dbr_result *res);
void dbr_result_free(struct dbr_result *res);
const char *dbr_result_missing(const struct dbr_result *res, size_t i,
			       struct dbr_error *err);

int dbr_fanout_new(struct dbr_fanout **out);
void dbr_fanout_free(struct dbr_fanout *f);
int dbr_fanout_add_source(struct dbr_fanout *f, const char *source);
int dbr_fanout_order_by(struct dbr_fanout *f, const char *column,
			bool descending);
void dbr_fanout_set_limit(struct dbr_fanout *f, uint64_t limit);
void dbr_fanout_set_flags(struct dbr_fanout *f, unsigned flags);
int dbr_query_all(struct dbr *db, const struct dbr_fanout *f,
		  const char *sql, const struct dbr_value *params,
		  size_t nparams, struct dbr_result **out,
		  struct dbr_error *err);

int dbr_tx_begin(struct dbr *db, int64_t chat, struct dbr_tx **out,
		 struct dbr_error *err);
int dbr_tx_begin_source(struct dbr *db, const char *source,
			struct dbr_tx **out, struct dbr_error *err);
int dbr_tx_query(struct dbr_tx *tx, const char *sql,
		 const struct dbr_value *params, size_t nparams,
		 struct dbr_result **out, struct dbr_error *err);
int dbr_tx_commit(struct dbr_tx *tx, struct dbr_error *err);
int dbr_tx_rollback(struct dbr_tx *tx, struct dbr_error *err);

void dbr_free(void *p);
int dbr_source_names(struct dbr *db, char ***names, size_t *count,
		     struct dbr_error *err);
int dbr_source_info(struct dbr *db, const char *source,
		    struct dbr_source_info *out, struct dbr_error *err);
int dbr_source_stats(struct dbr *db, const char *source,
		     struct dbr_source_stats *out, struct dbr_error *err);
int dbr_source_ping(struct dbr *db, const char *source,
		    struct dbr_error *err);
"""


def _cmake_source_dir(build_dir):
    """The source folder a CMake build folder was configured from."""
    with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"CMAKE_HOME_DIRECTORY:INTERNAL=(.*)", line)
            if m:
                return m.group(1).strip()
    raise RuntimeError("%s: not a CMake build folder of dbroute" % build_dir)


def _pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "dbroute"], check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise RuntimeError("pkg-config not found: install Debian's "
                           "pkg-config") from None
    except subprocess.CalledProcessError as e:
        raise RuntimeError("pkg-config cannot find dbroute (set "
                           "PKG_CONFIG_PATH=PREFIX/lib/pkgconfig, or "
                           "DBROUTE_BUILD_DIR to a build folder): %s"
                           % e.stderr.strip()) from None
    return shlex.split(out)


def _library():
    """Include folders, library folders and libraries to build with."""
    build_dir = os.environ.get("DBROUTE_BUILD_DIR")
    if build_dir:
        build_dir = os.path.realpath(build_dir)
        src = _cmake_source_dir(build_dir)
        return [os.path.join(src, "include")], [build_dir], ["dbroute"]
    inc = [a[2:] for a in _pkg_config("--cflags-only-I") if a[:2] == "-I"]
    libs = _pkg_config("--libs")
    dirs = [os.path.realpath(a[2:]) for a in libs if a[:2] == "-L"]
    names = [a[2:] for a in libs if a[:2] == "-l"]
    return [os.path.realpath(i) for i in inc], dirs, names


def make_builder():
    include_dirs, library_dirs, libraries = _library()
    headers = [os.path.join(d, "dbroute.h") for d in include_dirs]
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source(
        "dbroute._native",
        "#include <dbroute.h>\n",
        include_dirs=include_dirs,
        library_dirs=library_dirs,
        libraries=libraries,
        extra_link_args=["-Wl,-rpath," + d for d in library_dirs],
        depends=[h for h in headers if os.path.exists(h)],
    )
    return ffi


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
