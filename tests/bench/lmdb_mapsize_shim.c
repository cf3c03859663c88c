/*
 * LD_PRELOAD shim for `make bench` only: caps LMDB map sizes at WARD_BENCH_MAPSIZE bytes
 * (default 4 GiB). Valgrind on amd64 cannot reserve more than about 64 GiB of client
 * address space, and the category DB maps 64 GiB, so without it wardd cannot open its
 * database under callgrind. LMDB raises a map that is too small to the data size itself,
 * so the cap never hides data; it changes nothing on the query path.
 * Built by bench.py with `cc -shared -fPIC`; not part of ward.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct MDB_env MDB_env;
int mdb_env_set_mapsize(MDB_env *env, size_t size);

int mdb_env_set_mapsize(MDB_env *env, size_t size)
{
	static int (*real)(MDB_env *, size_t);
	if (!real)
		real = (int (*)(MDB_env *, size_t))dlsym(RTLD_NEXT, "mdb_env_set_mapsize");
	const char *cap_text = getenv("WARD_BENCH_MAPSIZE");
	size_t cap = cap_text ? (size_t)strtoull(cap_text, NULL, 10) : (size_t)4 << 30;
	if (cap && size > cap)
		size = cap;
	return real ? real(env, size) : 22 /* EINVAL */;
}
