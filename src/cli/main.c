/*
** main.c: the hdbg executable; everything else is in the cli layer.
*/
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
