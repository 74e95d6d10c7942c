/*
 * fuzz_config.c - libFuzzer target: any bytes as an INI configuration.
 * The parser must report problems, never crash, hang or leak.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Plugin types fail fast instead of loading real drivers. */
	setenv("DBROUTE_PLUGIN_DIR", "/nonexistent-dbroute-fuzz", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct dbr__logger log = { NULL, NULL, DBR_LOG_ERROR };
	struct dbr__config *cfg = NULL;
	struct dbr_error err;
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (dbr__config_read(f, "/fuzz/fuzz.ini", &log, &cfg, &err) == DBR_OK)
		dbr__config_free(cfg);
	fclose(f);
	return 0;
}
