/* libhdlib.so: shared library used by the PIE target. */
int hdlib_value = 0x1234;

__attribute__((noinline)) int hdlib_mul(int a, int b)
{
	return a * b + hdlib_value;
}
