/*
 * consumer.c - an application built against an installed dbroute: the
 * header and the library it links must agree on the version.
 */
#include <stdio.h>

#include <dbroute.h>

int main(void)
{
	if (dbr_version_number() != DBR_VERSION_NUMBER) {
		fprintf(stderr, "header %s, library %s\n", DBR_VERSION_STRING,
			dbr_version());
		return 1;
	}
	printf("dbroute %s\n", dbr_version());
	return 0;
}
