/*
 * The client userdata: configuration, the multi handle, the easy-handle
 * pool, and the loop that drives transfers (step for hosts with their own
 * loop, and the blocking generate / submit_async / poll built on it).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vinano.h"

static const char *const op_names[] = {"generate", "submit", "poll", "download", NULL};
static const char *const op_paths[] = {"/api/v2/images/generate", "/api/v1/images/async",
                                       "/api/v1/images/task-status?task_id="};

static vn_client *check_client(lua_State *L, int idx) {
  vn_client *c = (vn_client *)luaL_checkudata(L, idx, VN_CLIENT_MT);
  if (c->closed) luaL_error(L, "vinano: attempt to use a closed client");
  return c;
}

static char *dup_field(lua_State *L, int opts, const char *name) {
  char *copy = NULL;
  lua_getfield(L, opts, name);
  if (!lua_isnil(L, -1)) {
    size_t len;
    const char *s;
    if (lua_type(L, -1) != LUA_TSTRING) {
      luaL_error(L, "bad option '%s' (string expected)", name);
      return NULL;
    }
    s = lua_tolstring(L, -1, &len);
    if (memchr(s, '\0', len) || strpbrk(s, "\r\n")) {
      luaL_error(L, "bad option '%s' (contains a line break or NUL)", name);
      return NULL;
    }
    copy = (char *)malloc(len + 1);
    if (!copy) {
      luaL_error(L, "vinano: out of memory");
      return NULL;
    }
    memcpy(copy, s, len + 1);
  }
  lua_pop(L, 1);
  return copy;
}

static long ms_field(lua_State *L, int opts, const char *name, long dflt) {
  long ms = dflt;
  lua_getfield(L, opts, name);
  if (!lua_isnil(L, -1)) {
    lua_Number s;
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "bad option '%s' (number of seconds expected)", name);
    s = lua_tonumber(L, -1);
    if (!(s > 0)) luaL_error(L, "bad option '%s' (must be > 0)", name);
    ms = s * 1000 > 2e9 ? 2000000000L : (long)(s * 1000 + 0.5);
  }
  lua_pop(L, 1);
  return ms;
}

static int bool_field(lua_State *L, int opts, const char *name) {
  int v;
  lua_getfield(L, opts, name);
  v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* The Authorization line is built here and only here; the token itself is
 * never kept anywhere Lua can read it back. */
static void set_token(lua_State *L, vn_client *c, int opts) {
  size_t len;
  const char *tok;
  char *line;
  lua_getfield(L, opts, "token");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    luaL_error(L, "bad option 'token' (string expected)");
    return;
  }
  tok = lua_tolstring(L, -1, &len);
  if (len == 0) {
    lua_pop(L, 1);
    return;
  }
  if (memchr(tok, '\0', len) || memchr(tok, '\r', len) || memchr(tok, '\n', len)) {
    luaL_error(L, "bad option 'token' (contains a line break or NUL)");
    return;
  }
  line = (char *)malloc(len + sizeof "Authorization: Bearer ");
  if (!line) {
    luaL_error(L, "vinano: out of memory");
    return;
  }
  memcpy(line, "Authorization: Bearer ", sizeof "Authorization: Bearer " - 1);
  memcpy(line + sizeof "Authorization: Bearer " - 1, tok, len + 1);
  c->headers = curl_slist_append(NULL, line);
  memset(line, 0, len + sizeof "Authorization: Bearer ");
  free(line);
  lua_pop(L, 1);
  if (!c->headers) luaL_error(L, "vinano: out of memory");
  c->has_token = 1;
}

/* core.new(opts): the userdata is created empty and closed-safe first, so a
 * raise while reading options frees whatever was acquired through __gc. */
int vn_client_new(lua_State *L) {
  vn_client *c;
  size_t n;
  luaL_checktype(L, 1, LUA_TTABLE);
  c = (vn_client *)lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->finished_ref = LUA_NOREF;
  c->closed = 1;
  luaL_setmetatable(L, VN_CLIENT_MT);

  c->multi = curl_multi_init();
  if (!c->multi) return luaL_error(L, "vinano: curl_multi_init failed");
  c->share = curl_share_init();
  if (!c->share) return luaL_error(L, "vinano: curl_share_init failed");
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  c->closed = 0;
  c->base_url = dup_field(L, 1, "base_url");
  if (!c->base_url) return luaL_error(L, "bad option 'base_url' (string expected)");
  n = strlen(c->base_url);
  while (n > 0 && c->base_url[n - 1] == '/') c->base_url[--n] = '\0';
  c->user_agent = dup_field(L, 1, "user_agent");
  c->ca_file = dup_field(L, 1, "ca_file");
  c->proxy = dup_field(L, 1, "proxy");
  c->timeout_ms = ms_field(L, 1, "timeout", 180000);
  c->connect_timeout_ms = ms_field(L, 1, "connect_timeout", 10000);
  c->insecure = bool_field(L, 1, "insecure");
  c->verbose = bool_field(L, 1, "verbose");
  c->max_response = 64u * 1024 * 1024;
  lua_getfield(L, 1, "max_response");
  if (lua_isnumber(L, -1) && lua_tonumber(L, -1) > 0) c->max_response = (size_t)lua_tonumber(L, -1);
  lua_pop(L, 1);
  set_token(L, c, 1);
  return 1;
}

static CURL *acquire_easy(vn_client *c) {
  return c->npool > 0 ? c->pool[--c->npool] : curl_easy_init();
}

/* libcurl before 8.1.0 keeps a pointer to the last response header of a
 * transfer after freeing it (curl/curl#11101): on a reused handle, a next
 * response whose first header line is folded makes libcurl write through it.
 * There, every request gets a new handle (keep-alive still works: the
 * connections live in the multi handle's cache). */
static int can_reuse_easy(void) {
  static int ok = -1;
  if (ok < 0) ok = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080100;
  return ok;
}

/* Back to the pool: its connection already went back to the multi's cache,
 * and DNS and TLS sessions live in the client's share handle. */
void vn_client_release_easy(vn_client *c, CURL *easy) {
  if (c && !c->closed && c->npool < VN_POOL_MAX && can_reuse_easy()) {
    curl_easy_reset(easy);
    c->pool[c->npool++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

size_t vn_body_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  vn_request *r = (vn_request *)ud;
  size_t n = size * nmemb;
  vn_buffer *b = &r->body;
  size_t limit = r->client ? r->client->max_response : 0;
  if (b->len + n > limit) {
    r->too_large = 1;
    return 0;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *p;
    while (cap < b->len + n + 1) cap *= 2;
    p = (char *)realloc(b->data, cap);
    if (!p) return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  return n;
}

/* Header lines land in one buffer; a status line starts it over, so after
 * a 1xx, a redirect or a proxy's CONNECT answer only the last response's
 * headers are kept.  push_info turns them into the headers table. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  vn_request *r = (vn_request *)ud;
  size_t n = size * nmemb;
  vn_buffer *b = &r->head;
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) b->len = 0;
  if (b->len + n > 64 * 1024) return n; /* an absurd header block is cut, not fatal */
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *p;
    while (cap < b->len + n) cap *= 2;
    p = (char *)realloc(b->data, cap);
    if (!p) return n;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  vn_request *r = (vn_request *)ud;
  r->down_total = dltotal;
  r->down_now = dlnow;
  r->up_total = ultotal;
  r->up_now = ulnow;
  return 0;
}

/* With verbose = true, libcurl's trace goes to stderr through here, so the
 * Authorization line can be masked (CURLOPT_VERBOSE alone would print it). */
static int on_debug(CURL *e, curl_infotype type, char *data, size_t size, void *ud) {
  const char *prefix = type == CURLINFO_TEXT ? "* " : type == CURLINFO_HEADER_IN ? "< " : "> ";
  size_t i = 0;
  (void)e, (void)ud;
  if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT) return 0;
  while (i < size) {
    size_t j = i;
    while (j < size && data[j] != '\n') j++;
    if (j - i >= 14 && strncasecmp(data + i, "authorization:", 14) == 0)
      fprintf(stderr, "%sAuthorization: <redacted>\n", prefix);
    else
      fprintf(stderr, "%s%.*s\n", prefix, (int)(j > i && data[j - 1] == '\r' ? j - i - 1 : j - i), data + i);
    i = j + 1;
  }
  return 0;
}

static void configure(vn_client *c, vn_request *r, const char *url, long timeout_ms, long stall_s) {
  CURL *e = r->easy;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, r->op == VN_OP_DOWNLOAD ? vn_download_write : vn_body_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : c->timeout_ms);
  if (stall_s > 0) { /* no byte moved for stall_s seconds: give up */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s);
  }
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_SHARE, c->share);
  if (r->op == VN_OP_DOWNLOAD) {
    /* image hosts redirect; libcurl drops a custom Authorization header
     * when a redirect leaves the host, and we only add it for the API's own */
    size_t n = strlen(c->base_url);
    if (strncmp(url, c->base_url, n) == 0 && url[n] == '/') curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  } else {
    /* an API call never follows a redirect: it is reported instead */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  }
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent ? c->user_agent : "vinano/" "0.1.0");
  if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  if (c->proxy) curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
  if (c->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (c->verbose) {
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
  }
}

static void attach(vn_client *c, vn_request *r) {
  r->client = c;
  r->next = c->attached;
  if (c->attached) c->attached->prev = r;
  c->attached = r;
}

/* Per-request options after the operation's arguments: {timeout = ms, stall = s}. */
static void request_options(lua_State *L, int idx, long *timeout_ms, long *stall_s) {
  *timeout_ms = 0;
  *stall_s = 0;
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_getfield(L, idx, "timeout");
  if (lua_isnumber(L, -1) && lua_tonumber(L, -1) > 0)
    *timeout_ms = lua_tonumber(L, -1) > 2e9 ? 2000000000L : (long)lua_tonumber(L, -1);
  lua_getfield(L, idx, "stall");
  if (lua_isnumber(L, -1) && lua_tonumber(L, -1) > 0) *stall_s = (long)(lua_tonumber(L, -1) + 0.5);
  lua_pop(L, 2);
}

/* Pushes the started request, or nil + an invalid_request error. */
static int start(lua_State *L, vn_client *c, int op, int arg, int sync) {
  vn_request *r;
  luaL_Buffer url;
  char msg[400];
  long timeout_ms, stall_s;

  if (op == VN_OP_POLL) {
    if (lua_type(L, arg) != LUA_TSTRING && lua_type(L, arg) != LUA_TNUMBER)
      return luaL_argerror(L, arg, "task id (string) expected");
  } else if (op == VN_OP_DOWNLOAD) {
    luaL_checktype(L, arg, LUA_TSTRING);
    luaL_checktype(L, arg + 1, LUA_TSTRING);
  } else {
    luaL_checktype(L, arg, LUA_TTABLE);
  }
  request_options(L, arg + (op == VN_OP_DOWNLOAD ? 2 : 1), &timeout_ms, &stall_s);
  if (!c->has_token && op != VN_OP_DOWNLOAD) {
    lua_pushnil(L);
    vn_push_error(L, "invalid_request", 0,
                  "token: missing (pass token= to vinano.new or set VINANO_API_TOKEN)");
    return 2;
  }

  r = vn_request_create(L);
  r->op = op;
  r->sync = sync;
  r->easy = acquire_easy(c);
  if (!r->easy) return luaL_error(L, "vinano: curl_easy_init failed");
  attach(c, r);

  luaL_buffinit(L, &url);
  if (op == VN_OP_DOWNLOAD) {
    lua_pushvalue(L, arg);
    luaL_addvalue(&url);
  } else {
    luaL_addstring(&url, c->base_url);
    luaL_addstring(&url, op_paths[op]);
  }
  if (op == VN_OP_POLL) {
    size_t len;
    const char *id = lua_tolstring(L, arg, &len);
    char *esc = curl_easy_escape(r->easy, id, (int)len);
    if (!esc) return luaL_error(L, "vinano: out of memory");
    lua_pushstring(L, esc);
    curl_free(esc);
    luaL_addvalue(&url);
  }
  luaL_pushresult(&url);
  configure(c, r, lua_tostring(L, -1), timeout_ms, stall_s);
  lua_pop(L, 1);

  if (op == VN_OP_POLL) {
    curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
  } else if (op == VN_OP_DOWNLOAD) {
    if (!vn_download_open(r, lua_tostring(L, arg + 1), msg, sizeof msg)) {
      vn_request_close(L, r);
      lua_pushnil(L);
      vn_push_error(L, "io", 0, "%s", msg);
      return 2;
    }
  } else {
    r->mime = curl_mime_init(r->easy);
    if (!r->mime) return luaL_error(L, "vinano: out of memory");
    if (!vn_form_build(L, arg, r->mime, msg, sizeof msg)) {
      vn_request_close(L, r);
      lua_pushnil(L);
      vn_push_error(L, "invalid_request", 0, "%s", msg);
      return 2;
    }
    curl_easy_setopt(r->easy, CURLOPT_MIMEPOST, r->mime);
  }

  if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) return luaL_error(L, "vinano: curl_multi_add_handle failed");
  r->state = VN_RUNNING;
  c->running++;
  lua_pushvalue(L, -1);
  r->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static void collect(lua_State *L, vn_client *c) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
    vn_request *r = NULL;
    if (m->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (!r) continue;
    r->code = m->data.result; /* m dies with the handle's removal in finish */
    vn_request_finish(L, r);
  }
}

/* Advances every transfer; waits in curl_multi_poll at most timeout_ms
 * (so no busy loop), and only while something is in flight. */
/* When the multi handle itself fails, every transfer in flight fails with
 * it: a blocking call must end, not spin on a handle that cannot progress. */
static void fail_running(lua_State *L, vn_client *c, CURLMcode mc) {
  vn_request *r = c->attached;
  while (r) {
    vn_request *next = r->next;
    if (r->state == VN_RUNNING) {
      r->code = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
      snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_multi_strerror(mc));
      vn_request_finish(L, r);
    }
    r = next;
  }
}

static void perform(lua_State *L, vn_client *c, int *still) {
  CURLMcode mc = curl_multi_perform(c->multi, still);
  collect(L, c);
  if (mc != CURLM_OK) fail_running(L, c, mc);
}

static void drive(lua_State *L, vn_client *c, int timeout_ms) {
  int still = 0;
  perform(L, c, &still);
  if (timeout_ms > 0 && c->running > 0 && still > 0) {
    CURLMcode mc = curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL);
    if (mc != CURLM_OK) {
      fail_running(L, c, mc);
      return;
    }
    perform(L, c, &still);
  }
}

static int check_op(lua_State *L, int idx) {
  return luaL_checkoption(L, idx, NULL, op_names);
}

/* client:start(op, params_or_task_id) -> request | nil, err */
static int client_start(lua_State *L) {
  vn_client *c = check_client(L, 1);
  int op = check_op(L, 2);
  return start(L, c, op, 3, 0);
}

/* client:step([timeout_ms]) -> running, finished-requests-or-nil */
static int client_step(lua_State *L) {
  vn_client *c = check_client(L, 1);
  lua_Integer ms = luaL_optinteger(L, 2, 0);
  if (ms < 0) ms = 0;
  if (ms > 600000) ms = 600000;
  drive(L, c, (int)ms);
  lua_pushinteger(L, c->running);
  if (c->finished_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->finished_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, c->finished_ref);
    c->finished_ref = LUA_NOREF;
  } else {
    lua_pushnil(L);
  }
  return 2;
}

/* The blocking calls: start, then drive until this request is done.  Other
 * requests in flight on the same client progress meanwhile. */
static int run_sync(lua_State *L, int op) {
  vn_client *c = check_client(L, 1);
  vn_request *r;
  if (start(L, c, op, 2, 1) == 2) {
    lua_pushnil(L); /* res, err, info: no info, nothing was sent */
    return 3;
  }
  r = (vn_request *)lua_touserdata(L, -1);
  while (r->state == VN_RUNNING) drive(L, c, 1000);
  return vn_request_push_result(L, r);
}

static int client_generate(lua_State *L) { return run_sync(L, VN_OP_GENERATE); }
static int client_submit(lua_State *L) { return run_sync(L, VN_OP_SUBMIT); }
static int client_poll(lua_State *L) { return run_sync(L, VN_OP_POLL); }
static int client_download(lua_State *L) { return run_sync(L, VN_OP_DOWNLOAD); }

static int client_running(lua_State *L) {
  vn_client *c = check_client(L, 1);
  lua_pushinteger(L, c->running);
  return 1;
}

/* Idempotent: __gc, __close and close() all land here.  Requests still
 * attached lose their easy handle and read as cancelled. */
static int client_close(lua_State *L) {
  vn_client *c = (vn_client *)luaL_checkudata(L, 1, VN_CLIENT_MT);
  vn_request *r = c->attached;
  while (r) {
    vn_request *next = r->next;
    if (r->state == VN_RUNNING) {
      curl_multi_remove_handle(c->multi, r->easy);
      r->state = VN_DONE;
      r->cancelled = 1;
      vn_download_abort(r);
      luaL_unref(L, LUA_REGISTRYINDEX, r->self_ref);
      r->self_ref = LUA_NOREF;
    }
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
    r->client = NULL;
    r->prev = r->next = NULL;
    r = next;
  }
  c->attached = NULL;
  c->running = 0;
  while (c->npool > 0) curl_easy_cleanup(c->pool[--c->npool]);
  if (c->multi) curl_multi_cleanup(c->multi);
  c->multi = NULL;
  if (c->share) curl_share_cleanup(c->share);
  c->share = NULL;
  curl_slist_free_all(c->headers); /* the Authorization line is wiped below */
  c->headers = NULL;
  free(c->base_url);
  free(c->user_agent);
  free(c->ca_file);
  free(c->proxy);
  c->base_url = c->user_agent = c->ca_file = c->proxy = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, c->finished_ref);
  c->finished_ref = LUA_NOREF;
  c->closed = 1;
  return 0;
}

static int client_tostring(lua_State *L) {
  vn_client *c = (vn_client *)luaL_checkudata(L, 1, VN_CLIENT_MT);
  if (c->closed)
    lua_pushfstring(L, "vinano.client (closed)");
  else
    lua_pushfstring(L, "vinano.client (%s, token %s, %d in flight)", c->base_url, c->has_token ? "set" : "missing",
                    c->running);
  return 1;
}

void vn_client_register(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"start", client_start},       {"step", client_step},     {"generate", client_generate},
      {"submit_async", client_submit}, {"poll", client_poll},   {"download", client_download},   {"running", client_running},
      {"close", client_close},       {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", client_close}, {"__close", client_close}, {"__tostring", client_tostring},
                                  {NULL, NULL}};
  /* decoder on the stack top becomes upvalue 1 of every method */
  luaL_newmetatable(L, VN_CLIENT_MT);
  lua_insert(L, -2);
  lua_newtable(L);
  lua_insert(L, -2);
  luaL_setfuncs(L, methods, 1);
  lua_setfield(L, -2, "__index");
  luaL_setfuncs(L, meta, 0);
  lua_pushliteral(L, "locked");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}
