/*
 * The client userdata: its options, its pool, and the loop that drives its
 * transfers, always through libcurl's socket interface: step(ms) polls the
 * sockets libcurl asked for (or waits for its timer), then runs
 * curl_multi_socket_action for what is ready; core.wait does the same over
 * several clients; sockets()/action() let a host loop (luv) do the watching.
 */
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

typedef struct vn_client {
  vn_pool pool;
  vn_config cfg;
  int finished_ref; /* registry: finished queue=true transfers not yet read */
  int closed;
} vn_client;

#define AUTH_PREFIX "Authorization: Bearer "

/* ---- options */

static const char *const option_keys[] = {"token", "timeout", "connect_timeout", "ca_file", "proxy", "no_proxy",
                                          "user_agent", "insecure", "verbose", "max_response", "headers", NULL};

static int field(lua_State *L, int t, const char *key) {
  lua_pushstring(L, key);
  lua_rawget(L, t);
  return lua_gettop(L);
}

static char *dup_option(lua_State *L, int t, const char *key) {
  size_t n;
  const char *s = vn_check_line(L, field(L, t, key), 0, key, 0, &n);
  char *d = NULL;
  if (s) {
    d = (char *)malloc(n + 1);
    if (!d) {
      luaL_error(L, "vinano: out of memory");
      return NULL;
    }
    memcpy(d, s, n + 1);
  }
  lua_pop(L, 1);
  return d;
}

static int bool_option(lua_State *L, int t, const char *key) {
  int i = field(L, t, key), v;
  if (!lua_isnil(L, i) && lua_type(L, i) != LUA_TBOOLEAN) vn_raise(L, 0, key, "boolean expected");
  v = lua_toboolean(L, i);
  lua_pop(L, 1);
  return v;
}

static long ms_option(lua_State *L, int t, const char *key, long dflt) {
  int i = field(L, t, key);
  long ms = lua_isnil(L, i) ? dflt : vn_seconds_to_ms(vn_check_seconds(L, i, 0, key));
  lua_pop(L, 1);
  return ms;
}

/* The Authorization line is built here and only here; libcurl's slist copy
 * is the only other copy, wiped in vn_config_free. */
static void token_option(lua_State *L, int t, vn_config *cfg) {
  size_t n;
  const char *tok = vn_check_line(L, field(L, t, "token"), 0, "token", 0, &n);
  char *line;
  if (tok && n > 0) {
    line = (char *)malloc(n + sizeof AUTH_PREFIX);
    if (!line) {
      luaL_error(L, "vinano: out of memory");
      return;
    }
    memcpy(line, AUTH_PREFIX, sizeof AUTH_PREFIX - 1);
    memcpy(line + sizeof AUTH_PREFIX - 1, tok, n + 1);
    cfg->auth = curl_slist_append(NULL, line);
    vn_wipe(line, n + sizeof AUTH_PREFIX);
    free(line);
    if (!cfg->auth) {
      luaL_error(L, "vinano: out of memory");
      return;
    }
    cfg->trace.token = cfg->auth->data + sizeof AUTH_PREFIX - 1;
    cfg->trace.tokn = n;
  }
  lua_pop(L, 1);
}

void vn_config_read(lua_State *L, int idx, vn_config *cfg) {
  int i;
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  cfg->timeout_ms = 180000;
  cfg->connect_timeout_ms = 10000;
  cfg->max_response = (curl_off_t)64 * 1024 * 1024;
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int known = 0;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "bad option (names must be strings)");
    for (i = 0; option_keys[i] && !known; i++) known = strcmp(lua_tostring(L, -2), option_keys[i]) == 0;
    if (!known) vn_raise(L, 0, lua_tostring(L, -2), "unknown option");
    lua_pop(L, 1);
  }
  cfg->timeout_ms = ms_option(L, idx, "timeout", cfg->timeout_ms);
  cfg->connect_timeout_ms = ms_option(L, idx, "connect_timeout", cfg->connect_timeout_ms);
  cfg->ca_file = dup_option(L, idx, "ca_file");
  cfg->proxy = dup_option(L, idx, "proxy");
  cfg->no_proxy = dup_option(L, idx, "no_proxy");
  cfg->user_agent = dup_option(L, idx, "user_agent");
  cfg->insecure = bool_option(L, idx, "insecure");
  cfg->verbose = bool_option(L, idx, "verbose");
  i = field(L, idx, "max_response");
  if (!lua_isnil(L, i)) {
    lua_Number n;
    if (lua_type(L, i) != LUA_TNUMBER) vn_raise(L, 0, "max_response", "number of bytes expected");
    n = lua_tonumber(L, i);
    if (!(n >= 1 && n <= 9007199254740992.0)) vn_raise(L, 0, "max_response", "must be 1 .. 2^53");
    if (n != (lua_Number)(long long)n) vn_raise(L, 0, "max_response", "integer expected");
    cfg->max_response = (curl_off_t)n;
  }
  lua_pop(L, 1);
  vn_named_read(L, field(L, idx, "headers"), &cfg->named);
  lua_pop(L, 1);
  token_option(L, idx, cfg);
}

void vn_config_free(vn_config *cfg) {
  struct curl_slist *s;
  for (s = cfg->auth; s; s = s->next)
    if (s->data) vn_wipe(s->data, strlen(s->data));
  curl_slist_free_all(cfg->auth);
  free(cfg->ca_file);
  free(cfg->proxy);
  free(cfg->no_proxy);
  free(cfg->user_agent);
  vn_named_free(&cfg->named);
  memset(cfg, 0, sizeof *cfg);
}

/* ---- the loop */

static vn_client *check_client(lua_State *L, int idx) {
  vn_client *c = (vn_client *)vn_class_check(L, idx, VN_CLIENT_MT);
  if (c->closed) luaL_error(L, "vinano: attempt to use a closed client");
  return c;
}

static void enqueue(lua_State *L, vn_client *c, vn_transfer *t) {
  if (c->finished_ref == LUA_NOREF) {
    lua_newtable(L);
    c->finished_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->finished_ref);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, (int)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

/* Finishes every transfer libcurl reports done. */
static void collect(lua_State *L, vn_client *c) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(c->pool.multi, &left)) != NULL) {
    vn_transfer *t = NULL;
    CURLcode code;
    if (m->msg != CURLMSG_DONE) continue;
    code = m->data.result; /* m dies with the handle's removal */
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    if (!t) continue;
    if (t->queue && vn_transfer_push(L, t)) {
      enqueue(L, c, t);
      lua_pop(L, 1);
    }
    vn_transfer_finish(L, t, code);
  }
}

/* The multi handle itself failed: every transfer fails with it, so that a
 * loop waiting on one ends instead of spinning. */
static void check_multi(lua_State *L, vn_client *c, CURLMcode mc) {
  vn_link *l, *next;
  if (mc == CURLM_OK || mc == CURLM_BAD_SOCKET) return;
  for (l = c->pool.attached.next; l != &c->pool.attached; l = next) {
    vn_transfer *t = (vn_transfer *)l;
    next = l->next;
    if (t->state != VN_RUNNING) continue;
    snprintf(t->errbuf, sizeof t->errbuf, "%s", curl_multi_strerror(mc));
    if (t->queue && vn_transfer_push(L, t)) {
      enqueue(L, c, t);
      lua_pop(L, 1);
    }
    vn_transfer_finish(L, t, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
  }
}

static void act(lua_State *L, vn_client *c, curl_socket_t fd, int ev) {
  check_multi(L, c, vn_pool_action(&c->pool, fd, ev));
}

static void act_timer(lua_State *L, vn_client *c) {
  int i;
  for (i = 0; i < 4 && c->pool.has_deadline && vn_pool_timeout(&c->pool, -1) == 0; i++)
    check_multi(L, c, vn_pool_timer(&c->pool));
}

static int events_of(short revents) {
  return ((revents & VN_POLLIN) ? CURL_CSELECT_IN : 0) | ((revents & VN_POLLOUT) ? CURL_CSELECT_OUT : 0) |
         ((revents & VN_POLLERR) ? CURL_CSELECT_ERR : 0);
}

/* Waits at most ms for any socket of the clients or the soonest timer,
 * then acts on what is ready. */
static void drive(lua_State *L, vn_client **cs, int n, int ms, int sleep_idle) {
  vn_pollfd local[32], *fds = local;
  size_t total = 0, room = 0, at;
  int i, wait = ms, busy = 0;
  for (i = 0; i < n; i++) {
    vn_pool_flush_closes(&cs[i]->pool);
    if (cs[i]->pool.running > 0) {
      busy = 1;
      wait = vn_pool_timeout(&cs[i]->pool, wait);
      room += cs[i]->pool.nsocks;
    }
  }
  if (!busy) {
    if (sleep_idle && ms > 0) vn_sleep(ms / 1000.0);
    return;
  }
  if (room > sizeof local / sizeof local[0]) {
    fds = (vn_pollfd *)malloc(room * sizeof *fds);
    if (!fds) {
      fds = local;
      room = sizeof local / sizeof local[0];
    }
  }
  for (i = 0; i < n; i++)
    if (cs[i]->pool.running > 0) total += vn_pool_pollfds(&cs[i]->pool, fds + total, room - total);
  if (vn_poll(fds, total, wait) < 0 && wait > 0) vn_sleep(wait / 1000.0); /* never spin */
  for (i = 0, at = 0; i < n; i++) {
    vn_client *c = cs[i];
    size_t k, mine;
    if (c->pool.running <= 0) continue;
    mine = c->pool.nsocks; /* as counted above: no callback ran since */
    for (k = at; k < at + mine && k < total; k++)
      if (fds[k].revents) act(L, c, fds[k].fd, events_of(fds[k].revents));
    at += mine;
    act_timer(L, c);
    collect(L, c);
  }
  if (fds != local) free(fds);
}

static int check_ms(lua_State *L, int idx) {
  lua_Number ms = luaL_optnumber(L, idx, 0);
  if (ms != ms) return luaL_argerror(L, idx, "milliseconds expected, got NaN");
  if (ms < 0) return luaL_argerror(L, idx, "milliseconds must be >= 0");
  return ms > 1e9 ? 1000000000 : (int)ms;
}

/* ---- methods */

static int c_start(lua_State *L) {
  vn_client *c = check_client(L, 1);
  vn_transfer *t;
  vn_pool_flush_closes(&c->pool);
  t = vn_transfer_start(L, &c->pool, &c->cfg, 2);
  if (t->state == VN_DONE && t->queue) enqueue(L, c, t);
  return 1;
}

static int c_step(lua_State *L) {
  vn_client *c = check_client(L, 1);
  int ms = check_ms(L, 2);
  drive(L, &c, 1, ms, 0);
  lua_pushinteger(L, c->pool.running);
  return 1;
}

static int c_finished(lua_State *L) {
  vn_client *c = check_client(L, 1);
  if (c->finished_ref == LUA_NOREF) {
    lua_pushnil(L);
    return 1;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->finished_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, c->finished_ref);
  c->finished_ref = LUA_NOREF;
  return 1;
}

static int c_sockets(lua_State *L) {
  vn_client *c = check_client(L, 1);
  vn_sock *changes = NULL;
  size_t i, n = 0;
  vn_pool_flush_closes(&c->pool);
  /* a host on the pollset watches no socket itself */
  if (c->pool.pollset < 0) n = vn_pool_take_changes(&c->pool, &changes);
  lua_createtable(L, (int)(2 * n), 0);
  for (i = 0; i < n; i++) {
    int w = changes[i].what;
    lua_pushinteger(L, (lua_Integer)changes[i].fd);
    lua_rawseti(L, -2, (int)(2 * i + 1));
    lua_pushstring(L, w == CURL_POLL_REMOVE ? "remove" : w == CURL_POLL_IN ? "in" : w == CURL_POLL_OUT ? "out" : "inout");
    lua_rawseti(L, -2, (int)(2 * i + 2));
  }
  free(changes);
  lua_pushinteger(L, vn_pool_timeout(&c->pool, -1));
  return 2;
}

static int c_action(lua_State *L) {
  vn_client *c = check_client(L, 1);
  vn_pool_flush_closes(&c->pool);
  if (lua_isnoneornil(L, 2)) {
    act(L, c, CURL_SOCKET_TIMEOUT, 0);
  } else {
    static const char *const whats[] = {"in", "out", "inout", "error", NULL};
    static const int evs[] = {CURL_CSELECT_IN, CURL_CSELECT_OUT, CURL_CSELECT_IN | CURL_CSELECT_OUT, CURL_CSELECT_ERR};
    lua_Number fd = luaL_checknumber(L, 2);
    int w = luaL_checkoption(L, 3, NULL, whats);
    if (!(fd >= 0 && fd <= 2147483647.0) || fd != (lua_Number)(long)fd) return luaL_argerror(L, 2, "socket expected");
    act(L, c, (curl_socket_t)(long)fd, evs[w]);
  }
  collect(L, c);
  lua_pushinteger(L, c->pool.running);
  return 1;
}

/* c:pollset(): one descriptor to watch for reading instead of each socket
 * (then c:sockets() reports no socket, only the timeout, and c:ready()
 * acts); nil where the system has none. */
static int c_pollset(lua_State *L) {
  vn_client *c = check_client(L, 1);
  int fd = vn_pool_pollset(&c->pool);
  if (fd < 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushinteger(L, fd);
  return 1;
}

/* c:ready(): acts on every socket of the pollset that has an event now;
 * returns the transfers still running. */
static int c_ready(lua_State *L) {
  vn_client *c = check_client(L, 1);
  vn_pollfd ready[32];
  int i, n;
  vn_pool_flush_closes(&c->pool);
  if (c->pool.pollset >= 0) {
    n = vn_pollset_ready(c->pool.pollset, ready, 32);
    for (i = 0; i < n; i++) act(L, c, ready[i].fd, events_of(ready[i].revents));
  }
  collect(L, c);
  lua_pushinteger(L, c->pool.running);
  return 1;
}

/* Pushes out's bytes, then wipes and frees it (it held server text before
 * redaction may have taken a secret out). */
static int push_wiped(lua_State *L, vn_buffer *out) {
  lua_pushlstring(L, out->data ? out->data : "", out->len);
  vn_wipe(out->data, out->cap);
  vn_buffer_free(out);
  return 1;
}

/* c:redact(s [, "token"]): s with this client's token, and the value of any
 * Authorization / Proxy-Authorization line, replaced by <redacted>: for
 * text a server sent back (an error body that echoes the request).  With
 * "token", only the token: for a JSON body still to be decoded, whose text
 * must stay JSON. */
static int c_redact(lua_State *L) {
  static const char *const modes[] = {"lines", "token", NULL};
  vn_client *c = check_client(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int lines = luaL_checkoption(L, 3, "lines", modes) == 0;
  vn_buffer out = {NULL, 0, 0};
  if (!vn_redact_needed(s, n, c->cfg.trace.token, c->cfg.trace.tokn, lines)) { /* nothing to hide: s itself */
    lua_settop(L, 2);
    return 1;
  }
  if (!vn_trace_redact(s, n, c->cfg.trace.token, c->cfg.trace.tokn, lines, &out)) {
    vn_buffer_free(&out);
    return luaL_error(L, "vinano: out of memory");
  }
  if (out.len == n && (n == 0 || memcmp(out.data, s, n) == 0)) { /* nothing to hide: no new string */
    vn_buffer_free(&out);
    lua_settop(L, 2);
    return 1;
  }
  return push_wiped(L, &out);
}

/* c:snippet(s [, max]): a server's text quoted for an error message,
 * redacted before it is cut to max bytes (default 120) and escaped. */
static int c_snippet(lua_State *L) {
  vn_client *c = check_client(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  lua_Integer max = luaL_optinteger(L, 3, 120);
  vn_buffer out = {NULL, 0, 0};
  luaL_argcheck(L, max >= 0 && max <= 65536, 3, "max must be 0 .. 65536");
  if (!vn_snippet(s, n, c->cfg.trace.token, c->cfg.trace.tokn, (size_t)max, &out)) {
    vn_buffer_free(&out);
    return luaL_error(L, "vinano: out of memory");
  }
  return push_wiped(L, &out);
}

static int c_running(lua_State *L) {
  lua_pushinteger(L, check_client(L, 1)->pool.running);
  return 1;
}

/* Idempotent: __gc, __close and close() all land here.  Also frees what a
 * half-made client (a raise in new) acquired. */
static int c_close(lua_State *L) {
  vn_client *c = (vn_client *)vn_class_check(L, 1, VN_CLIENT_MT);
  vn_link *l, *next;
  if (c->pool.attached.next) {
    c->pool.closing = 1;
    for (l = c->pool.attached.next; l != &c->pool.attached; l = next) {
      next = l->next;
      vn_transfer_orphan(L, (vn_transfer *)l);
    }
  }
  vn_pool_cleanup(&c->pool);
  vn_config_free(&c->cfg);
  luaL_unref(L, LUA_REGISTRYINDEX, c->finished_ref);
  c->finished_ref = LUA_NOREF;
  c->closed = 1;
  return 0;
}

static int c_tostring(lua_State *L) {
  vn_client *c = (vn_client *)vn_class_check(L, 1, VN_CLIENT_MT);
  if (c->closed)
    lua_pushliteral(L, "vinano.core.client (closed)");
  else
    lua_pushfstring(L, "vinano.core.client (%d in flight)", c->pool.running);
  return 1;
}

/* core.new(opts): created closed and empty, so that a raise while reading
 * the options leaves a userdata whose __gc frees what was acquired. */
int vn_client_new(lua_State *L) {
  vn_client *c;
  lua_settop(L, 1);
  if (!lua_isnil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  c = (vn_client *)lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->pool.pollset = -1; /* none yet: a raise below must not close fd 0 */
  c->finished_ref = LUA_NOREF;
  c->closed = 1;
  luaL_setmetatable(L, VN_CLIENT_MT);
  vn_config_read(L, 1, &c->cfg);
  if (!vn_pool_init(&c->pool)) return luaL_error(L, "vinano: cannot create libcurl handles");
  c->closed = 0;
  return 1;
}

/* core.wait(clients, ms) */
int vn_client_wait(lua_State *L) {
  vn_client *local[16], **cs = local;
  int i, n, k = 0, ms;
  luaL_checktype(L, 1, LUA_TTABLE);
  ms = check_ms(L, 2);
  n = (int)lua_rawlen(L, 1);
  if (n > 16) cs = (vn_client **)lua_newuserdatauv(L, (size_t)n * sizeof *cs, 0);
  for (i = 1; i <= n; i++) {
    vn_client *c;
    lua_rawgeti(L, 1, i);
    c = (vn_client *)luaL_testudata(L, -1, VN_CLIENT_MT);
    if (!c) return luaL_argerror(L, 1, "list of clients expected");
    lua_pop(L, 1);
    if (!c->closed) cs[k++] = c;
  }
  drive(L, cs, k, ms, 1);
  return 0;
}

void vn_client_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"start", c_start},     {"step", c_step},       {"finished", c_finished},
                                     {"sockets", c_sockets}, {"action", c_action},   {"running", c_running},
                                     {"redact", c_redact},   {"snippet", c_snippet}, {"close", c_close},
                                     {"pollset", c_pollset}, {"ready", c_ready},     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", c_close}, {"__close", c_close}, {"__tostring", c_tostring}, {NULL, NULL}};
  vn_class_register(L, VN_CLIENT_MT, methods, meta);
}
