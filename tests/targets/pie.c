/* pie: PIE target linked with libhdlib.so. */
#include <stdio.h>

int hdlib_mul(int a, int b);

__attribute__((noinline)) int pie_compute(int x)
{
	return hdlib_mul(x, 3) + 1;
}

int main(void)
{
	int r = 0;
	for (int i = 0; i < 5; i++)
		r += pie_compute(i);
	printf("pie result=%d\n", r);
	return 0;
}
