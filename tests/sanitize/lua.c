/* lua-asan SCRIPT [ARGS...]: a minimal stand-alone Lua, linked with
 * AddressSanitizer, to run busted against the sanitized core.
 *
 * Why not LD_PRELOAD=libasan.so with the system's lua5.4: the preload is
 * inherited by every child, and the curl program the specs run to drive
 * the emulator deadlocks at start-up under it. An interpreter that carries
 * the ASan runtime itself leaves its children alone.
 *
 * Like lua.c it sets the global `arg` (arg[0] = SCRIPT, arg[-1] = this
 * program) and passes ARGS as the script's `...`; it closes the state at
 * the end so LeakSanitizer sees only what was really lost. */
#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* lua_close unloads C modules with dlclose, and a leak report made at exit
 * then shows "<unknown module>" where our frames were. Keeping them
 * mapped (this definition takes the place of libc's for liblua) keeps the
 * reports readable; the process is about to end anyway. */
int dlclose(void *handle);
int dlclose(void *handle)
{
    (void)handle;
    return 0;
}

static int traceback(lua_State *L)
{
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return 1;
    luaL_openlibs(L);
    lua_createtable(L, argc, 2);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    int status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        for (int i = 2; i < argc; i++)
            lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - 2, 0, 1);
    }
    if (status != LUA_OK)
        fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
