/* noentry.c - a shared object without the entry symbol. */
int dbr_not_an_entry(void);

int dbr_not_an_entry(void)
{
	return 0;
}
