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
 * libcurl's own allocations go through libc, not Lua's allocator: a second
 * pass counts them (curl_global_init_mem) and, for every N up to their
 * count, refuses only libcurl's N-th, as curl's own torture tests do
 * (curl does not retry, so one refusal is enough to take each failure
 * path). Each run must end in success or a clean error (a transport error
 * "Out of memory", "out of memory preparing the request", "cannot create
 * a client"), and the state must work again afterwards. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
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
    "assert(assert(client:logout(token)) == true)\n"
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

/* libcurl's allocations: count them, refuse the curl_fail_at-th. */
static unsigned long curl_count, curl_fail_at, curl_refused;

static int curl_refuse(void)
{
    if (++curl_count == curl_fail_at) {
        curl_refused++;
        return 1;
    }
    return 0;
}

static void *c_malloc(size_t n)
{
    return curl_refuse() ? NULL : malloc(n);
}

static void c_free(void *p)
{
    free(p);
}

static void *c_realloc(void *p, size_t n)
{
    return curl_refuse() ? NULL : realloc(p, n);
}

static char *c_strdup(const char *str)
{
    if (curl_refuse())
        return NULL;
    size_t n = strlen(str) + 1;
    char *copy = malloc(n);
    if (copy != NULL)
        memcpy(copy, str, n);
    return copy;
}

static void *c_calloc(size_t nmemb, size_t size)
{
    return curl_refuse() ? NULL : calloc(nmemb, size);
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

typedef struct tally {
    unsigned long runs, no_state, clean_errors, other_errors, completed, not_again;
} tally;

/* One run with the refusal set up by the caller: a fresh state, the
 * script, then (refusals off) the script again on the same state. */
static void run_once(tally *t, unsigned long n, const char *what)
{
    t->runs++;
    lua_State *L = lua_newstate(torture_alloc, NULL);
    if (L == NULL) {
        fail_from = 0;
        t->no_state++;
        return;
    }
    int status = pcall_run(L);
    fail_from = 0;
    curl_fail_at = 0;
    if (status == LUA_OK) {
        t->completed++;
    } else if (status == LUA_ERRMEM) {
        t->clean_errors++;
    } else {
        /* Clean: the memory error itself, or what a call makes of it (a
         * transport error, "cannot create a client", "out of memory
         * preparing the request", a decode error "not enough memory").
         * Not clean: a reply the server gave to a request that went out
         * wrong (an http or api error), or the script's own checks. */
        const char *m = message(L);
        if (strstr(m, "chronosheets http error") != NULL
            || strstr(m, "chronosheets api error") != NULL
            || (strstr(m, "chronosheets decode error") != NULL && strstr(m, "memory") == NULL)
            || strstr(m, "assertion failed") != NULL) {
            fprintf(stderr, "alloc_fail: %s N=%lu: not a clean error: %s\n",
                    what, n, m);
            t->other_errors++;
        } else {
            t->clean_errors++;
        }
    }
    if (pcall_run(L) != LUA_OK) {
        fprintf(stderr, "alloc_fail: %s N=%lu: after the failure, the script fails: %s\n",
                what, n, message(L));
        t->not_again++;
    }
    lua_close(L);
}

static int report(const char *what, unsigned long total, const tally *t, unsigned long refusals,
                  int fds0, int fds1)
{
    printf("alloc_fail: %s: %lu runs (N = 1..%lu): %lu no state, %lu clean errors, "
           "%lu completed, %lu unclean errors; %lu allocations refused; %lu states not usable "
           "after; file descriptors %d before, %d after\n",
           what, t->runs, total, t->no_state, t->clean_errors, t->completed, t->other_errors,
           refusals, t->not_again, fds0, fds1);
    fflush(stdout);             /* LeakSanitizer's verdict comes after */
    return t->other_errors == 0 && t->not_again == 0 && fds0 == fds1 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 2 || getenv("CHRONOSHEETS_BASE_URL") == NULL) {
        fprintf(stderr, "usage: CHRONOSHEETS_BASE_URL=... %s CPATH\n", argv[0]);
        return 2;
    }
    cpath = argv[1];
    base_url = getenv("CHRONOSHEETS_BASE_URL");
    /* Before the module's curl_global_init, which then only counts up. */
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, c_malloc, c_free, c_realloc, c_strdup,
                             c_calloc) != CURLE_OK) {
        fprintf(stderr, "alloc_fail: curl_global_init_mem failed\n");
        return 1;
    }

    /* Two runs that count; the first also loads what libcurl and OpenSSL
     * keep for the process (descriptors included) before fds0. */
    for (int i = 0; i < 2; i++) {
        count = curl_count = 0;
        lua_State *L = lua_newstate(torture_alloc, NULL);
        if (L == NULL || pcall_run(L) != LUA_OK) {
            fprintf(stderr, "alloc_fail: the script fails with no allocation refused: %s\n",
                    L != NULL ? message(L) : "no state");
            return 1;
        }
        lua_close(L);
    }
    unsigned long lua_total = count, curl_total = curl_count;

    int rc = 0, fds0 = open_fds();
    tally t = { 0 };
    for (unsigned long n = 1; n <= lua_total; n++) {
        count = 0;
        fail_from = n;
        run_once(&t, n, "Lua");
    }
    int fds1 = open_fds();
    rc |= report("Lua's allocations N and after refused (require, client, login, profile, "
                 "the same non-blocking, logout)", lua_total, &t, refused, fds0, fds1);

    tally c = { 0 };
    for (unsigned long n = 1; n <= curl_total; n++) {
        curl_count = 0;
        curl_fail_at = n;
        run_once(&c, n, "libcurl");
    }
    int fds2 = open_fds();
    rc |= report("libcurl's N-th allocation refused", curl_total, &c, curl_refused, fds1, fds2);
    curl_global_cleanup();
    return rc;
}
