/* exitcode: a target that exits with the status given as its argument,
 * for --return-child-result tests. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	return argc > 1 ? atoi(argv[1]) : 0;
}
