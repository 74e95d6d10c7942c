/* dep.c - a library the "missing dependency" fixture plugin links. */
__attribute__((visibility("default"))) int dbr_fixture_dep(void);

int dbr_fixture_dep(void)
{
	return 42;
}
