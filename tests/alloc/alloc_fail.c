/* alloc_fail CPATH: allocation-failure torture of the module, in the
 * manner of curl's torture tests.
 *
 * A first run of the script below (require, client, login, profile, the
 * same as a non-blocking call, logout, close, against the emulator at $CHRONOSHEETS_BASE_URL) counts
 * the allocations Lua makes, from lua_newstate on. Then, for every N from
 * 1 to that count, a fresh lua_State whose allocator refuses the N-th
 * allocation and every one after it runs the script again. Each run must
 * end cleanly: the state cannot be made, or the pcall returns an error
 * (almost always "not enough memory"); never a crash, an abort or a Lua
 * panic. Once the pcall has returned, allocations succeed again and the
 * same state must then run the whole script to success: whatever the
 * memory error interrupted (a half-made client, a reply half-decoded)
 * left nothing wedged. lua_close then frees everything; built with
 * AddressSanitizer (make alloc-fail), LeakSanitizer checks at exit that
 * nothing was lost in any of the runs, and the driver checks that no file
 * descriptor (a socket of a leaked curl handle) was left open.
 *
 * Refusing every allocation from the N-th on, not just the N-th: Lua 5.4
 * answers a failed allocation with an emergency collection and a second
 * try, which a single refusal would always pass. Only allocations that
 * grow a block are refused (Lua may assume a shrink succeeds).
 *
 * libcurl's own allocations go through libc, not this allocator. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

static const char script[] =
    "local base_url = ...\n"
    "local cs = require 'chronosheets'\n"
    "local client = cs.client{ base_url = base_url, timeout = 10 }\n"
    "local login = assert(client:login{ username_or_email = 'ada', password = 'correct horse' })\n"
    "local token = login.cs_auth_token\n"
    "assert(assert(client:get_my_profile(token)).first_name == 'Ada')\n"
    "local async_profile\n"
    "client:get_my_profile_async(token, function(err, p) async_profile = assert(p, err) end)\n"
    "while client:wait(10) > 0 do end\n"
    "assert(async_profile.first_name == 'Ada')\n"
    "assert(client:logout(token) == true)\n"
    "client:close()\n";

static unsigned long count;         /* growing allocations so far */
static unsigned long fail_from;     /* 0: none refused */
static unsigned long refused;

static void *torture_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (ptr == NULL || nsize > osize) {
        count++;
        if (fail_from != 0 && count >= fail_from) {
            refused++;
            return NULL;
        }
    }
    return realloc(ptr, nsize);
}

/* lua_close unloads C modules with dlclose, and a leak report made at exit
 * then shows "<unknown module>" for their frames; keeping them mapped
 * keeps the report readable (this definition takes the place of libc's). */
int dlclose(void *handle);
int dlclose(void *handle)
{
    (void)handle;
    return 0;
}

static const char *cpath, *base_url;

/* Everything that allocates runs under a pcall, openlibs included: an
 * unprotected memory error would be a panic. */
static int run(lua_State *L)
{
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s;%s", cpath, LUA_CPATH_DEFAULT);    /* lua-cjson */
    lua_setfield(L, -2, "cpath");
    lua_pushliteral(L, "lua/?.lua;lua/?/init.lua;" LUA_PATH_DEFAULT);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, script, sizeof script - 1, "=alloc_fail") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, base_url);
    lua_call(L, 1, 0);
    return 0;
}

static int pcall_run(lua_State *L)
{
    lua_settop(L, 0);
    lua_pushcfunction(L, run);
    return lua_pcall(L, 0, 0, 0);
}

/* The error on top of the stack as text (error values are tables with
 * __tostring); called with allocations allowed again. */
static const char *message(lua_State *L)
{
    return luaL_tolstring(L, -1, NULL);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2 || getenv("CHRONOSHEETS_BASE_URL") == NULL) {
        fprintf(stderr, "usage: CHRONOSHEETS_BASE_URL=... %s CPATH\n", argv[0]);
        return 2;
    }
    cpath = argv[1];
    base_url = getenv("CHRONOSHEETS_BASE_URL");

    /* The run that counts; it also loads libcurl and OpenSSL once, so the
     * descriptors they keep for the process are there before fds0. */
    lua_State *L = lua_newstate(torture_alloc, NULL);
    if (L == NULL || pcall_run(L) != LUA_OK) {
        fprintf(stderr, "alloc_fail: the script fails with no allocation refused: %s\n",
                L != NULL ? message(L) : "no state");
        return 1;
    }
    lua_close(L);
    count = 0;
    L = lua_newstate(torture_alloc, NULL);
    if (pcall_run(L) != LUA_OK) {
        fprintf(stderr, "alloc_fail: the script fails on its second run: %s\n", message(L));
        return 1;
    }
    lua_close(L);
    unsigned long total = count;
    int fds0 = open_fds();

    unsigned long no_state = 0, mem_errors = 0, other_errors = 0, completed = 0, failures = 0;
    for (unsigned long n = 1; n <= total; n++) {
        count = 0;
        fail_from = n;
        L = lua_newstate(torture_alloc, NULL);
        if (L == NULL) {
            fail_from = 0;
            no_state++;
            continue;
        }
        int status = pcall_run(L);
        fail_from = 0;
        if (status == LUA_OK)
            completed++;
        else if (status == LUA_ERRMEM)
            mem_errors++;
        else
            other_errors++;
        if (status != LUA_OK && status != LUA_ERRMEM && !strstr(message(L), "memory"))
            fprintf(stderr, "alloc_fail: N=%lu: error that is not about memory: %s\n",
                    n, message(L));
        /* The same state, no refusal now: the whole script must work. */
        if (pcall_run(L) != LUA_OK) {
            fprintf(stderr, "alloc_fail: N=%lu: after the memory error, the script fails: %s\n",
                    n, message(L));
            failures++;
        }
        lua_close(L);
    }
    int fds1 = open_fds();
    printf("alloc_fail: %lu runs, refusing allocation N..end for each N up to %lu "
           "(login, profile, the same non-blocking, logout): %lu no state, %lu memory errors, %lu other errors, "
           "%lu completed; %lu allocations refused; every state worked again after its error "
           "%s; file descriptors %d before, %d after\n",
           total, total, no_state, mem_errors, other_errors, completed, refused,
           failures == 0 ? "(all)" : "(NOT all)", fds0, fds1);
    fflush(stdout);             /* LeakSanitizer's verdict comes after */
    if (failures != 0 || fds1 != fds0)
        return 1;
    return 0;
}
