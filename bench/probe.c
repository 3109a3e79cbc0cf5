/* probe: what the Lua runners of the benchmark measure themselves with.
 *
 *   probe.now()          monotonic wall clock, seconds
 *   probe.cpu()          user + system CPU seconds of this process and of
 *                        the children it has waited for (curl per call)
 *   probe.malloc_bytes() bytes held by malloc (glibc's mallinfo2)
 *   probe.peak_rss_kb()  peak resident set size, kB
 *
 * Plain Lua has no sub-second wall clock and cannot see C allocations;
 * this is the smallest way to get both. */
#define _GNU_SOURCE
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int probe_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

static int probe_cpu(lua_State *L)
{
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    lua_pushnumber(L, seconds(self.ru_utime) + seconds(self.ru_stime)
                      + seconds(children.ru_utime) + seconds(children.ru_stime));
    return 1;
}

static int probe_malloc_bytes(lua_State *L)
{
    struct mallinfo2 mi = mallinfo2();
    lua_pushinteger(L, (lua_Integer)(mi.uordblks + mi.hblkhd));
    return 1;
}

static int probe_peak_rss_kb(lua_State *L)
{
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    lua_pushinteger(L, (lua_Integer)self.ru_maxrss);
    return 1;
}

static const luaL_Reg functions[] = {
    { "now", probe_now },
    { "cpu", probe_cpu },
    { "malloc_bytes", probe_malloc_bytes },
    { "peak_rss_kb", probe_peak_rss_kb },
    { NULL, NULL }
};

int luaopen_probe(lua_State *L);

int luaopen_probe(lua_State *L)
{
    luaL_newlib(L, functions);
    return 1;
}
