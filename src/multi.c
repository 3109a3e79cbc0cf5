/* Non-blocking calls over libcurl's multi interface: see multi.h. */
#define _POSIX_C_SOURCE 200809L

#include "multi.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <unistd.h>
#endif

#include "compat.h"

#define MAX_WAIT_MS 1000        /* wait() with nothing scheduled re-checks this often */
#define CALL_NAME_BYTES 48

/* One socket curl asked us to watch. id changes when curl closes a socket
 * and opens another that gets the same descriptor number, so a host loop
 * keyed on id never confuses the two (libuv must drop its poll handle for
 * the old one first). */
typedef struct watch {
    curl_socket_t fd;
    int what;                   /* CURL_POLL_IN, _OUT or _INOUT */
    unsigned long id;
} watch;

typedef enum { CALL_RUNNING, CALL_DONE, CALL_OVER } call_state;

typedef struct mcall {
    multi *m;                   /* NULL once the call is over */
    http_call *http;
    const wire_reply *reply;
    call_state state;
    CURLcode code;              /* how the transfer ended (CALL_DONE) */
    int cb_ref, self_ref;
    struct mcall *prev, *next;  /* in m->running or m->done */
    char *secret[WIRE_SECRETS]; /* owned copies: the caller's strings may go */
    size_t secret_len[WIRE_SECRETS];
    char name[CALL_NAME_BYTES]; /* "GET /UserProfile/GetMyProfile", for tostring */
} mcall;

typedef struct call_list {
    mcall *head, *tail;
} call_list;

struct multi {
    CURLM *curlm;
    http_options options;       /* strings owned, for a new easy handle per call */
    char *strings[4];
    watch *watches;
    size_t nwatches, capwatches;
    unsigned long next_watch_id;
    int timer_set;
    double deadline_ms;         /* monotonic, when timer_set */
    call_list running, done;
    size_t count;               /* calls in running or done */
    int staged_cb;              /* the callback of the call being started */
    long staged_timeout_ms;     /* 0: the client's timeout */
    int depth;                  /* deliveries in progress */
    int closed;
    int epfd;                   /* every watched socket in one epoll set, or -1 */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void list_push(call_list *l, mcall *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_remove(call_list *l, mcall *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

/* ------------------------------------------------------------------ */
/* curl's callbacks: they record, nothing more                         */

/* Keeps the epoll set (client:event_fd) equal to the watch list. A
 * socket curl has already closed left the set by itself, so errors of
 * EPOLL_CTL_DEL do not matter. */
static int mirror(multi *m, curl_socket_t fd, int what)
{
#ifdef __linux__
    if (m->epfd < 0)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    return errno == ENOENT && epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -1;
#else
    (void)m, (void)fd, (void)what;
    return 0;
#endif
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    multi *m = userp;
    (void)easy;
    (void)socketp;
    if (mirror(m, fd, what) != 0)
        return -1;              /* curl fails the transfer */
    size_t i = 0;
    while (i < m->nwatches && m->watches[i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < m->nwatches)
            m->watches[i] = m->watches[--m->nwatches];
        return 0;
    }
    if (i == m->nwatches) {
        if (m->nwatches == m->capwatches) {
            size_t cap = m->capwatches ? m->capwatches * 2 : 8;
            watch *w = realloc(m->watches, cap * sizeof *w);
            if (w == NULL)
                return -1;      /* curl fails the transfer */
            m->watches = w;
            m->capwatches = cap;
        }
        m->watches[i].fd = fd;
        m->watches[i].id = ++m->next_watch_id;
        m->nwatches++;
    }
    m->watches[i].what = what;
    return 0;
}

static int on_timer(CURLM *curlm, long timeout_ms, void *userp)
{
    multi *m = userp;
    (void)curlm;
    m->timer_set = timeout_ms >= 0;
    if (m->timer_set)
        m->deadline_ms = now_ms() + (double)timeout_ms;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Life of the multi                                                   */

static char *copy_string(const char *s, char **slot)
{
    if (s == NULL)
        return *slot = NULL, NULL;
    *slot = malloc(strlen(s) + 1);
    if (*slot != NULL)
        strcpy(*slot, s);
    return *slot;
}

static void multi_free_memory(multi *m)
{
    for (int i = 0; i < 4; i++)
        free(m->strings[i]);
    free(m->watches);
    free(m);
}

multi *multi_new(const http_options *o, long max_connections, char *err, size_t errlen)
{
    multi *m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->options = *o;
    m->staged_cb = LUA_NOREF;
    m->epfd = -1;
    if (copy_string(o->base_url, &m->strings[0]) == NULL
        || copy_string(o->user_agent, &m->strings[1]) == NULL
        || (o->ca_file != NULL && copy_string(o->ca_file, &m->strings[2]) == NULL)
        || (o->proxy != NULL && copy_string(o->proxy, &m->strings[3]) == NULL)) {
        snprintf(err, errlen, "out of memory");
        multi_free_memory(m);
        return NULL;
    }
    m->options.base_url = m->strings[0];
    m->options.user_agent = m->strings[1];
    m->options.ca_file = m->strings[2];
    m->options.proxy = m->strings[3];

    m->curlm = curl_multi_init();
    if (m->curlm == NULL) {
        snprintf(err, errlen, "curl_multi_init failed");
        multi_free_memory(m);
        return NULL;
    }
    CURLMcode rc = CURLM_OK;
    if ((rc = curl_multi_setopt(m->curlm, CURLMOPT_SOCKETFUNCTION, on_socket)) != CURLM_OK
        || (rc = curl_multi_setopt(m->curlm, CURLMOPT_SOCKETDATA, m)) != CURLM_OK
        || (rc = curl_multi_setopt(m->curlm, CURLMOPT_TIMERFUNCTION, on_timer)) != CURLM_OK
        || (rc = curl_multi_setopt(m->curlm, CURLMOPT_TIMERDATA, m)) != CURLM_OK
        || (rc = curl_multi_setopt(m->curlm, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections)) != CURLM_OK
        || (rc = curl_multi_setopt(m->curlm, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections)) != CURLM_OK) {
        snprintf(err, errlen, "cannot set up libcurl: %s", curl_multi_strerror(rc));
        curl_multi_cleanup(m->curlm);
        multi_free_memory(m);
        return NULL;
    }
    return m;
}

/* Frees what a call holds besides its place on the multi: the easy
 * handle, the secret copies (wiped first), the callback. Idempotent. */
static void call_free_resources(lua_State *L, mcall *c)
{
    http_call_free(c->http);
    c->http = NULL;
    for (int i = 0; i < WIRE_SECRETS; i++) {
        if (c->secret[i] != NULL) {
            http_wipe(c->secret[i], c->secret_len[i]);
            free(c->secret[i]);
            c->secret[i] = NULL;
        }
    }
    luaL_unref(L, LUA_REGISTRYINDEX, c->cb_ref);
    c->cb_ref = LUA_NOREF;
}

/* Takes the call off the multi for good: its easy handle, its secrets,
 * its references. The handle userdata itself lives on while Lua holds it. */
static void call_release(lua_State *L, mcall *c)
{
    multi *m = c->m;
    if (m == NULL)
        return;
    if (c->state == CALL_RUNNING) {
        curl_multi_remove_handle(m->curlm, http_call_easy(c->http));
        list_remove(&m->running, c);
    } else if (c->state == CALL_DONE) {
        list_remove(&m->done, c);
    }
    m->count--;
    c->state = CALL_OVER;
    c->m = NULL;
    call_free_resources(L, c);
    /* Last: this may let the userdata be collected. */
    luaL_unref(L, LUA_REGISTRYINDEX, c->self_ref);
    c->self_ref = LUA_NOREF;
}

void multi_close(lua_State *L, multi *m)
{
    if (m == NULL || m->closed)
        return;
    while (m->running.head != NULL)
        call_release(L, m->running.head);
    while (m->done.head != NULL)
        call_release(L, m->done.head);
    luaL_unref(L, LUA_REGISTRYINDEX, m->staged_cb);
    m->staged_cb = LUA_NOREF;
    curl_multi_cleanup(m->curlm);
    m->curlm = NULL;
#ifdef __linux__
    if (m->epfd >= 0)
        close(m->epfd);
    m->epfd = -1;
#endif
    m->closed = 1;
    if (m->depth == 0)
        multi_free_memory(m);
}

/* ------------------------------------------------------------------ */
/* Starting a call                                                     */

int multi_is_async(lua_State *L)
{
    /* Only the _async closures have a second upvalue; past the last one,
     * Lua 5.2+ gives "none" and 5.1/LuaJIT give nil. */
    return lua_toboolean(L, lua_upvalueindex(2));
}

int multi_start(lua_State *L, multi *m, const char *method, const char *path,
                const char *token, size_t token_len, const char *body, size_t body_len,
                const wire_reply *reply, const wire_secrets *secrets)
{
    if (m->staged_cb == LUA_NOREF)
        return luaL_error(L, "no callback for the call");  /* cannot happen from Lua */
    int cb_ref = m->staged_cb;
    long timeout_ms = m->staged_timeout_ms;
    m->staged_cb = LUA_NOREF;

    mcall *c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    c->cb_ref = cb_ref;         /* released by __gc if anything below raises */
    c->self_ref = LUA_NOREF;
    c->state = CALL_OVER;
    c->reply = reply;
    snprintf(c->name, sizeof c->name, "%s %s", method, path);
    luaL_getmetatable(L, CALL_MT);
    lua_setmetatable(L, -2);

    char err[256];
    c->http = http_call_new(&m->options, err, sizeof err);
    if (c->http == NULL)
        return luaL_error(L, "cannot start a call: %s", err);
    if (http_call_prepare(c->http, method, path, token, token_len, body, body_len) != 0)
        return luaL_error(L, "out of memory preparing the request");
    CURL *easy = http_call_easy(c->http);
    if (timeout_ms > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)c);
    for (int i = 0; i < WIRE_SECRETS; i++) {
        if (secrets->text[i] == NULL)
            continue;
        c->secret[i] = malloc(secrets->len[i] + 1);
        if (c->secret[i] == NULL)
            return luaL_error(L, "out of memory");
        memcpy(c->secret[i], secrets->text[i], secrets->len[i]);
        c->secret[i][secrets->len[i]] = '\0';
        c->secret_len[i] = secrets->len[i];
    }
    CURLMcode rc = curl_multi_add_handle(m->curlm, easy);
    if (rc != CURLM_OK)
        return luaL_error(L, "cannot start a call: %s", curl_multi_strerror(rc));
    c->m = m;
    c->state = CALL_RUNNING;
    list_push(&m->running, c);
    m->count++;
    lua_pushvalue(L, -1);
    c->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

/* client:NAME_async(args..., callback [, { timeout = seconds }])
 * Upvalues: the state table, true (the async mark), the blocking method.
 * The blocking method runs in this very frame, so it sees the mark and
 * its argument errors name NAME_async. */
static int call_async(lua_State *L)
{
    multi *m = client_multi(L, 1);
    int top = lua_gettop(L);
    long timeout_ms = 0;
    if (top >= 3 && lua_istable(L, top) && lua_isfunction(L, top - 1)) {
        lua_pushnil(L);
        while (lua_next(L, top) != 0) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "timeout") != 0)
                luaL_argerror(L, top, lua_pushfstring(L, "unknown option '%s'",
                                                      lua_type(L, -1) == LUA_TSTRING
                                                      ? lua_tostring(L, -1) : luaL_typename(L, -1)));
        }
        lua_getfield(L, top, "timeout");
        if (!lua_isnil(L, -1)) {
            if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0)
                || lua_tonumber(L, -1) > 86400.0 * 365)
                luaL_argerror(L, top, "option 'timeout' must be a positive number of seconds");
            timeout_ms = (long)(lua_tonumber(L, -1) * 1000.0 + 0.5);
            if (timeout_ms < 1)
                timeout_ms = 1;
        }
        lua_pop(L, 1);
        top--;
    }
    if (top < 2 || !lua_isfunction(L, top))
        luaL_argerror(L, top < 2 ? 2 : top, "the last argument must be the callback function(err, result)");
    luaL_unref(L, LUA_REGISTRYINDEX, m->staged_cb);   /* left by a start that raised */
    lua_pushvalue(L, top);
    m->staged_cb = luaL_ref(L, LUA_REGISTRYINDEX);
    m->staged_timeout_ms = timeout_ms;
    lua_settop(L, top - 1);
    lua_CFunction blocking = lua_tocfunction(L, lua_upvalueindex(3));
    return blocking(L);
}

/* ------------------------------------------------------------------ */
/* Driving: curl first, Lua after                                      */

/* Moves every finished transfer from running to done. Touches no Lua. */
static void collect(multi *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->curlm, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *private = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private);
        mcall *c = (mcall *)private;
        CURLcode code = msg->data.result;
        curl_multi_remove_handle(m->curlm, msg->easy_handle);
        if (c == NULL || c->state != CALL_RUNNING)
            continue;
        c->code = code;
        list_remove(&m->running, c);
        c->state = CALL_DONE;
        list_push(&m->done, c);
    }
}

/* Pushes (err, result) for the finished call given as a light userdata:
 * the callback's arguments. Runs under
 * lua_pcall, since making the reply allocates: a memory error there must
 * not unwind through deliver, whose m->depth would then stay raised and
 * keep multi_close from ever freeing the multi. */
static int push_outcome(lua_State *L)
{
    mcall *c = lua_touserdata(L, 1);
    http_response r;
    http_call_finish(c->http, c->code, &r);
    wire_secrets s;
    for (int i = 0; i < WIRE_SECRETS; i++) {
        s.text[i] = c->secret[i];
        s.len[i] = c->secret_len[i];
    }
    if (wire_push_reply(L, &r, c->reply, &s) == 1)
        lua_pushnil(L);
    lua_insert(L, -2);          /* (nil, err) -> (err, nil); (result, nil) -> (nil, result) */
    return 2;
}

/* Calls the callback of every finished call, each under lua_pcall, after
 * curl has returned. A callback may start, cancel or drive calls, or close
 * the client. The first error a callback raised is raised again once all
 * are delivered; so is a memory error making a reply, whose callback then
 * is not called. Nothing between depth++ and depth-- raises. */
static int deliver(lua_State *L, multi *m)
{
    int errors = 0;
    int slot = lua_gettop(L) + 1;
    lua_pushnil(L);
    lua_pushvalue(L, STATE_INDEX);      /* wire_push_reply's upvalue */
    lua_pushcclosure(L, push_outcome, 1);
    int outcome = slot + 1;
    m->depth++;
    while (!m->closed && m->done.head != NULL) {
        mcall *c = m->done.head;
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->cb_ref);
        lua_pushvalue(L, outcome);
        lua_pushlightuserdata(L, c);
        int rc = lua_pcall(L, 1, 2, 0);
        call_release(L, c);
        if (rc == 0)
            rc = lua_pcall(L, 2, 0, 0);
        else
            lua_remove(L, -2);          /* the callback; the error stays */
        if (rc != 0) {
            if (errors++ == 0)
                lua_replace(L, slot);
            else
                lua_pop(L, 1);
        }
    }
    int in_flight = m->closed ? 0 : (int)m->count;
    if (--m->depth == 0 && m->closed)
        multi_free_memory(m);   /* the client was closed by a callback */
    if (errors > 0) {
        lua_pushvalue(L, slot);
        lua_error(L);
    }
    lua_settop(L, slot - 1);
    return in_flight;
}

/* Delivers, then pushes how many calls are still in flight. */
static int deliver_and_count(lua_State *L, multi *m)
{
    lua_pushinteger(L, deliver(L, m));
    return 1;
}

static int push_in_flight(lua_State *L, multi *m)
{
    lua_pushinteger(L, m->closed ? 0 : (lua_Integer)m->count);
    return 1;
}

static int parse_events(lua_State *L, int arg)
{
    const char *e = luaL_optstring(L, arg, "");
    int mask = 0;
    for (; *e; e++) {
        if (*e == 'r')
            mask |= CURL_CSELECT_IN;
        else if (*e == 'w')
            mask |= CURL_CSELECT_OUT;
        else if (*e == 'e')
            mask |= CURL_CSELECT_ERR;
    }
    return mask;
}

static int socket_action(lua_State *L, multi *m, curl_socket_t fd, int mask)
{
    int running;
    CURLMcode rc = curl_multi_socket_action(m->curlm, fd, mask, &running);
    collect(m);
    if (rc != CURLM_OK && rc != CURLM_BAD_SOCKET)
        return luaL_error(L, "curl_multi_socket_action: %s", curl_multi_strerror(rc));
    return 0;
}

/* client:drive(fd, events) -> calls in flight
 * events: "r", "w", "rw" (libuv's spelling), "e" for an error, or nil
 * when unknown. */
static int multi_drive(lua_State *L)
{
    multi *m = client_multi(L, 1);
    lua_Integer fd = luaL_checkinteger(L, 2);
    socket_action(L, m, (curl_socket_t)fd, parse_events(L, 3));
    return deliver_and_count(L, m);
}

/* client:drive_timeout() -> calls in flight: curl's timer went off. */
static int multi_drive_timeout(lua_State *L)
{
    multi *m = client_multi(L, 1);
    m->timer_set = 0;
    socket_action(L, m, CURL_SOCKET_TIMEOUT, 0);
    return deliver_and_count(L, m);
}

static const char *events_name(int what)
{
    switch (what) {
    case CURL_POLL_IN: return "r";
    case CURL_POLL_OUT: return "w";
    case CURL_POLL_INOUT: return "rw";
    default: return "";
    }
}

/* Milliseconds until curl's timer, 0 when due, -1 when none is set. */
static long timer_remaining(multi *m)
{
    if (!m->timer_set)
        return -1;
    double left = m->deadline_ms - now_ms();
    return left <= 0 ? 0 : (long)(left + 0.999);
}

/* client:pending() -> { {fd =, events =, id =}... }, timeout_ms|nil, in_flight */
static int multi_pending(lua_State *L)
{
    multi *m = client_multi(L, 1);
    lua_createtable(L, (int)m->nwatches, 0);
    for (size_t i = 0; i < m->nwatches; i++) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, (lua_Integer)m->watches[i].fd);
        lua_setfield(L, -2, "fd");
        lua_pushstring(L, events_name(m->watches[i].what));
        lua_setfield(L, -2, "events");
        lua_pushinteger(L, (lua_Integer)m->watches[i].id);
        lua_setfield(L, -2, "id");
        lua_rawseti(L, -2, (int)i + 1);
    }
    long left = timer_remaining(m);
    if (left < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, left);
    push_in_flight(L, m);
    return 3;
}

/* client:wait([timeout]) -> calls in flight
 * One round for plain Lua: polls curl's sockets until one is ready,
 * curl's timer is due or timeout seconds (default: no limit) have passed,
 * tells curl, then delivers. `while client:wait() > 0 do end` runs every
 * call to its end. */
static int multi_wait(lua_State *L)
{
    multi *m = client_multi(L, 1);
    double limit = luaL_optnumber(L, 2, -1);
    if (m->count == 0)
        return push_in_flight(L, m);
    if (m->done.head == NULL) {
        /* Until curl's timer; with no timer, until a socket is ready; with
         * neither (curl has nothing to wait for), a short nap. */
        long wait_ms = timer_remaining(m);
        if (wait_ms < 0 && m->nwatches == 0)
            wait_ms = MAX_WAIT_MS;
        if (limit >= 0 && (wait_ms < 0 || limit * 1000.0 < wait_ms))
            wait_ms = (long)(limit * 1000.0);
        size_t n = m->nwatches;
        /* A userdata, so that an error below cannot leak it. */
        struct pollfd *fds = lua_newuserdata(L, (n > 0 ? n : 1) * sizeof *fds);
        for (size_t i = 0; i < n; i++) {
            fds[i].fd = m->watches[i].fd;
            fds[i].events = (short)(((m->watches[i].what & CURL_POLL_IN) ? POLLIN : 0)
                                    | ((m->watches[i].what & CURL_POLL_OUT) ? POLLOUT : 0));
            fds[i].revents = 0;
        }
        int ready = poll(fds, (nfds_t)n, (int)wait_ms);
        if (ready < 0 && errno != EINTR)
            return luaL_error(L, "poll: %s", strerror(errno));
        for (size_t i = 0; ready > 0 && i < n && !m->closed; i++) {
            if (fds[i].revents == 0)
                continue;
            int mask = ((fds[i].revents & POLLIN) ? CURL_CSELECT_IN : 0)
                     | ((fds[i].revents & POLLOUT) ? CURL_CSELECT_OUT : 0)
                     | ((fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
            socket_action(L, m, fds[i].fd, mask);
        }
        lua_pop(L, 1);
        if (timer_remaining(m) == 0 || (n == 0 && !m->timer_set)) {
            m->timer_set = 0;
            socket_action(L, m, CURL_SOCKET_TIMEOUT, 0);
        }
    }
    return deliver_and_count(L, m);
}

/* client:event_fd() -> fd, or nil and why
 * One descriptor (an epoll set, Linux only) that is readable whenever a
 * socket curl watches is ready: a host loop can watch it alone, with
 * client:drive_events() when it is readable and drive_timeout() for
 * curl's timer (the timeout of client:pending()). It never reports an
 * error itself, unlike a connection that failed; it stays valid until the
 * client is closed. */
static int multi_event_fd(lua_State *L)
{
    multi *m = client_multi(L, 1);
#ifdef __linux__
    if (m->epfd < 0) {
        m->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (m->epfd < 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "epoll_create1: %s", strerror(errno));
            return 2;
        }
        for (size_t i = 0; i < m->nwatches; i++)
            mirror(m, m->watches[i].fd, m->watches[i].what);
    }
    lua_pushinteger(L, m->epfd);
    return 1;
#else
    lua_pushnil(L);
    lua_pushliteral(L, "event_fd needs epoll (Linux); use pending() and drive()");
    return 2;
#endif
}

/* client:drive_events() -> calls in flight: tells curl about every socket
 * of the event_fd set that is ready, without waiting, then delivers. */
static int multi_drive_events(lua_State *L)
{
    multi *m = client_multi(L, 1);
#ifdef __linux__
    if (m->epfd >= 0) {
        struct epoll_event evs[64];
        int n;
        do {
            n = epoll_wait(m->epfd, evs, 64, 0);
            for (int i = 0; i < n; i++) {
                unsigned int e = evs[i].events;
                int mask = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0)
                         | ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                         | ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
                socket_action(L, m, evs[i].data.fd, mask);
            }
        } while (n == 64);
    }
#endif
    if (timer_remaining(m) == 0) {
        m->timer_set = 0;
        socket_action(L, m, CURL_SOCKET_TIMEOUT, 0);
    }
    return deliver_and_count(L, m);
}

/* client:in_flight() -> calls started and not yet delivered or cancelled */
static int multi_in_flight(lua_State *L)
{
    return push_in_flight(L, client_multi(L, 1));
}

/* ------------------------------------------------------------------ */
/* The call handle                                                     */

/* handle:cancel() -> true if the call was still in flight. Its callback
 * will never run; its connection is closed, its memory released. */
static int call_cancel(lua_State *L)
{
    mcall *c = luaL_checkudata(L, 1, CALL_MT);
    int was = c->m != NULL;
    call_release(L, c);
    lua_pushboolean(L, was);
    return 1;
}

/* handle:status() -> "running", "done" (waiting for delivery) or "over" */
static int call_status(lua_State *L)
{
    static const char *const names[] = { "running", "done", "over" };
    mcall *c = luaL_checkudata(L, 1, CALL_MT);
    lua_pushstring(L, names[c->state]);
    return 1;
}

static int call_gc(lua_State *L)
{
    mcall *c = luaL_checkudata(L, 1, CALL_MT);
    /* While in flight the registry holds the handle, so here it is over;
     * only a start that raised half way leaves something behind. */
    call_release(L, c);
    call_free_resources(L, c);
    return 0;
}

static int call_tostring(lua_State *L)
{
    static const char *const names[] = { "running", "done", "over" };
    mcall *c = luaL_checkudata(L, 1, CALL_MT);
    lua_pushfstring(L, "chronosheets.call (%s, %s)", c->name, names[c->state]);
    return 1;
}

static const luaL_Reg call_methods[] = {
    { "cancel", call_cancel },
    { "status", call_status },
    { NULL, NULL }
};

static const luaL_Reg call_metamethods[] = {
    { "__gc", call_gc },
    { "__tostring", call_tostring },
    { NULL, NULL }
};

static const luaL_Reg multi_methods[] = {
    { "pending", multi_pending },
    { "drive", multi_drive },
    { "drive_timeout", multi_drive_timeout },
    { "wait", multi_wait },
    { "event_fd", multi_event_fd },
    { "drive_events", multi_drive_events },
    { "in_flight", multi_in_flight },
    { NULL, NULL }
};

/* The endpoint methods that get an _async form. */
static const char *const async_names[] = {
    "login", "get_my_profile", "keep_session_alive", "update_my_profile", "logout", "request",
    NULL
};

void multi_open(lua_State *L)
{
    int methods = lua_gettop(L), state = methods - 1;
    for (const char *const *n = async_names; *n != NULL; n++) {
        lua_getfield(L, methods, *n);
        if (lua_tocfunction(L, -1) == NULL)
            luaL_error(L, "multi_open: no C method '%s'", *n);
        lua_pushvalue(L, state);
        lua_pushboolean(L, 1);
        lua_pushvalue(L, -3);
        lua_pushcclosure(L, call_async, 3);
        lua_pushfstring(L, "%s_async", *n);
        lua_insert(L, -2);
        lua_settable(L, methods);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, state);
    cs_setfuncs(L, multi_methods, 1);

    luaL_newmetatable(L, CALL_MT);
    cs_setfuncs(L, call_metamethods, 0);
    lua_newtable(L);
    cs_setfuncs(L, call_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
