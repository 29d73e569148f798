/*
 * A transfer: idle -> running -> done -> closed.  Running, it holds an easy
 * handle of its client's pool and is anchored in the registry (dropping it
 * cannot free what libcurl writes into).  When it finishes it takes a
 * snapshot of what libcurl reports, gives its easy handle back and drops
 * the anchor, so t:result() says the same before and after c:close().
 */
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

static const char *const state_names[] = {"idle", "running", "done", "closed"};

#define HEAD_MAX (64 * 1024)

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  vn_transfer *t = (vn_transfer *)ud;
  long status = 0;
  if (t->easy) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  return vn_sink_write(&t->sink, status, ptr, size * nmemb);
}

/* Header lines land in one block; a status line starts it over, so after a
 * 1xx, a redirect or a proxy's CONNECT answer only the last response's
 * headers (and body) are kept.  An absurd block is cut, not fatal. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  vn_transfer *t = (vn_transfer *)ud;
  size_t n = size * nmemb;
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
    vn_buffer_reset(&t->head);
    vn_buffer_reset(&t->sink.body);
    vn_buffer_reset(&t->named);
  }
  if (t->head.len + n <= HEAD_MAX) {
    vn_buffer_add(&t->head, ptr, n);
    if (t->has_named && t->cfg) vn_named_line(&t->cfg->named, ptr, n, &t->named);
  }
  return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  vn_transfer *t = (vn_transfer *)ud;
  t->down_total = dltotal;
  t->down_now = dlnow;
  t->up_total = ultotal;
  t->up_now = ulnow;
  return 0;
}

static char *dup_str(const char *s) {
  size_t n;
  char *d;
  if (!s) return NULL;
  n = strlen(s) + 1;
  d = (char *)malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* A file of the body could not be read (at start, or while libcurl sent
 * it: libcurl then only saw an abort). */
static void read_failure(vn_transfer *t) {
  vn_facts *f = &t->facts;
  f->code = CURLE_READ_ERROR;
  f->read_failed = 1;
  f->read_error = vn_form_take_error(&t->form);
  f->error = f->read_error ? f->read_error : "reading a file to send: out of memory";
}

/* Every fact libcurl reports, while the easy handle is still ours. */
static void snapshot(vn_transfer *t, CURLcode code) {
  vn_facts *f = &t->facts;
  CURL *e = t->easy;
  char *s = NULL;
  long sent = 0;
  f->code = code;
  if (code != CURLE_OK) f->error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
  if (t->form.failed) read_failure(t);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &f->status);
  curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent);
  f->request_sent = sent > 0;
  if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK) f->content_type = dup_str(s);
  s = NULL;
  if (curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &s) == CURLE_OK) f->redirect_url = dup_str(s);
#if LIBCURL_VERSION_NUM >= 0x074200
  curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &f->retry_after);
#endif
  curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &f->new_connections);
  curl_easy_getinfo(e, CURLINFO_LOCAL_PORT, &f->local_port);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &f->seconds);
  curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &f->http_version);
}

/* Gives back the easy handle (to the pool, or frees it when orphaned). */
static void release(vn_transfer *t) {
  vn_pool_detach(&t->link);
  if (t->easy) {
    if (t->pool)
      vn_pool_give_easy(t->pool, t->easy);
    else
      curl_easy_cleanup(t->easy);
    t->easy = NULL;
  }
  vn_form_free(&t->form);
  t->pool = NULL;
}

static void unanchor(lua_State *L, vn_transfer *t) {
  luaL_unref(L, LUA_REGISTRYINDEX, t->self_ref);
  t->self_ref = LUA_NOREF;
}

/* A body that is not a 2xx answer is the server's words about a request
 * that carried the token: the token is taken out before any Lua sees it,
 * while the client (its token) is still there.  Only the token: a JSON body
 * must stay JSON (response.lua quotes it through c:snippet, which also
 * hides Authorization lines). */
static void redact_body(vn_transfer *t) {
  vn_buffer *b = &t->sink.body, out = {NULL, 0, 0};
  long st = t->facts.status;
  if (!t->cfg || b->len == 0 || (st >= 200 && st <= 299)) return;
  if (!vn_trace_redact(b->data, b->len, t->cfg->trace.token, t->cfg->trace.tokn, 0, &out)) {
    vn_buffer_free(&out);
    vn_wipe(b->data, b->cap);
    vn_buffer_reset(b); /* out of memory: no body rather than an unredacted one */
    return;
  }
  vn_wipe(b->data, b->cap);
  vn_buffer_free(b);
  *b = out;
}

static void end_running(lua_State *L, vn_transfer *t, int ok) {
  redact_body(t);
  t->cfg = NULL;
  curl_multi_remove_handle(t->pool->multi, t->easy);
  t->pool->running--;
  vn_sink_finish(&t->sink, ok);
  if (t->sink.file_errno && t->facts.code == CURLE_OK) {
    t->facts.code = CURLE_WRITE_ERROR;
    t->facts.error = t->sink.file_error;
  }
  release(t);
  t->state = VN_DONE;
  unanchor(L, t);
}

void vn_transfer_finish(lua_State *L, vn_transfer *t, CURLcode code) {
  if (t->state != VN_RUNNING) return;
  snapshot(t, code);
  end_running(L, t, code == CURLE_OK && t->facts.status >= 200 && t->facts.status <= 299);
}

int vn_transfer_cancel(lua_State *L, vn_transfer *t) {
  if (t->state != VN_RUNNING) return 0;
  snapshot(t, CURLE_ABORTED_BY_CALLBACK);
  t->facts.error = "cancelled";
  t->cancelled = 1;
  end_running(L, t, 0);
  return 1;
}

void vn_transfer_orphan(lua_State *L, vn_transfer *t) {
  vn_transfer_cancel(L, t);
  vn_pool_detach(&t->link);
  if (t->easy) curl_easy_cleanup(t->easy); /* an idle transfer whose start raised */
  t->easy = NULL;
  vn_form_free(&t->form);
  t->pool = NULL;
}

int vn_transfer_push(lua_State *L, const vn_transfer *t) {
  if (t->self_ref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->self_ref);
  return 1;
}

/* ---- start */

/* The spec's fields, each read once: one pass over the table puts every
 * value in its slot above `slots` (nil where absent); an unknown name raises. */
enum { F_METHOD, F_URL, F_AUTH, F_PARTS, F_SINK, F_MKDIR, F_FOLLOW, F_TIMEOUT, F_STALL, F_QUEUE, F_JSON, F_COUNT };
static const char *const spec_keys[] = {"method", "url",    "auth",  "parts", "sink", "mkdir",
                                        "follow", "timeout", "stall", "queue", "json", NULL};

static int read_spec(lua_State *L, int spec) {
  int slots = lua_gettop(L) + 1, i;
  luaL_checkstack(L, F_COUNT + 4, "spec");
  for (i = 0; i < F_COUNT; i++) lua_pushnil(L);
  lua_pushnil(L);
  while (lua_next(L, spec) != 0) {
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_argerror(L, 2, "field names must be strings");
    k = lua_tostring(L, -2);
    for (i = 0; spec_keys[i] && strcmp(k, spec_keys[i]) != 0; i++) {
    }
    if (!spec_keys[i]) luaL_argerror(L, 2, lua_pushfstring(L, "unknown field '%s'", k));
    lua_replace(L, slots + i); /* the value; the key stays for lua_next */
  }
  return slots;
}

static int opt_bool(lua_State *L, int idx, const char *key) {
  if (!lua_isnil(L, idx) && lua_type(L, idx) != LUA_TBOOLEAN) vn_raise(L, 2, key, "boolean expected");
  return lua_toboolean(L, idx);
}

vn_transfer *vn_transfer_start(lua_State *L, vn_pool *p, const vn_config *cfg, int spec) {
  vn_transfer *t;
  CURL *e;
  const char *url, *method, *sink;
  int f, idx, post, has_parts, parts_idx, auth, mkdir, follow = 0, top;
  long timeout_ms = cfg->timeout_ms, stall_s = 0;

  luaL_checktype(L, spec, LUA_TTABLE);
  f = read_spec(L, spec); /* the field F_X is at f + F_X */

  t = (vn_transfer *)lua_newuserdatauv(L, sizeof *t, 0);
  memset(t, 0, sizeof *t);
  vn_form_init(&t->form);
  t->self_ref = LUA_NOREF;
  t->state = VN_IDLE;
  vn_sink_init(&t->sink, cfg->max_response);
  luaL_setmetatable(L, VN_TRANSFER_MT);
  top = lua_gettop(L);
  /* from here a raise leaves an idle transfer that __gc cleans up */
  e = t->easy = vn_pool_take_easy(p);
  if (!e) luaL_error(L, "vinano: curl_easy_init failed");
  t->pool = p;
  vn_pool_attach(p, &t->link);

  url = vn_check_line(L, f + F_URL, 2, "url", 0, NULL);
  if (!url) vn_raise(L, 2, "url", "string expected");
  idx = f + F_METHOD;
  method = lua_isnil(L, idx) ? NULL : vn_check_line(L, idx, 2, "method", 0, NULL);
  parts_idx = f + F_PARTS;
  has_parts = !lua_isnil(L, parts_idx);
  if (!method)
    post = has_parts;
  else if (strcmp(method, "GET") == 0)
    post = 0;
  else if (strcmp(method, "POST") == 0)
    post = 1;
  else
    post = vn_raise(L, 2, "method", "\"GET\" or \"POST\" expected");
  if (has_parts && !post) vn_raise(L, 2, "parts", "only with method \"POST\"");
  auth = opt_bool(L, f + F_AUTH, "auth");
  if (auth && !cfg->auth) vn_raise(L, 2, "auth", "the client has no token");
  mkdir = opt_bool(L, f + F_MKDIR, "mkdir");
  t->queue = opt_bool(L, f + F_QUEUE, "queue");
  t->json = opt_bool(L, f + F_JSON, "json");
  sink = vn_check_line(L, f + F_SINK, 2, "sink", 1, NULL);
  if (sink && !*sink) vn_raise(L, 2, "sink", "empty path");
  idx = f + F_FOLLOW;
  if (!lua_isnil(L, idx)) {
    lua_Number n;
    if (lua_type(L, idx) != LUA_TNUMBER) vn_raise(L, 2, "follow", "number expected");
    n = lua_tonumber(L, idx);
    if (!(n >= 0 && n <= 100) || n != (lua_Number)(int)n) vn_raise(L, 2, "follow", "integer 0..100 expected");
    follow = (int)n;
  }
  idx = f + F_TIMEOUT;
  if (!lua_isnil(L, idx)) timeout_ms = vn_seconds_to_ms(vn_check_seconds(L, idx, 2, "timeout"));
  idx = f + F_STALL;
  if (!lua_isnil(L, idx)) {
    double s = vn_check_seconds(L, idx, 2, "stall") + 0.999;
    stall_s = s >= 2147483647.0 ? 2147483647L : (long)s;
  }

  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
  if (stall_s > 0) { /* no byte moved for stall_s seconds: fail */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s);
  }
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  vn_pool_setup_easy(p, e);
  if (follow > 0) { /* a new or reset handle follows none */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)follow);
  }
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(e, CURLOPT_USERAGENT, cfg->user_agent ? cfg->user_agent : "vinano/" VN_VERSION);
  if (cfg->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
  /* always explicit: the environment never changes the route */
  curl_easy_setopt(e, CURLOPT_PROXY, cfg->proxy ? cfg->proxy : "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, cfg->no_proxy ? cfg->no_proxy : "");
  if (cfg->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (cfg->verbose) {
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, vn_trace_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, (void *)&cfg->trace);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
  }
  if (has_parts) {
    vn_form *form = &t->form;
    vn_form_build(L, parts_idx, 2, form, &p->form_random);
    /* the body's Content-Type line, then the client's Authorization line:
     * a node of the transfer's own before the client's list (libcurl only
     * reads the list), so the token is never copied per request */
    t->form_header.data = form->header;
    t->form_header.next = auth ? cfg->auth : NULL;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, &t->form_header);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, form->total);
    if (form->nfiles == 0) { /* all in memory: libcurl sends the buffer itself */
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, form->mem.data);
    } else {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, vn_form_read);
      curl_easy_setopt(e, CURLOPT_READDATA, form);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, vn_form_seek);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, form);
    }
  } else if (post) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  if (auth && !has_parts) curl_easy_setopt(e, CURLOPT_HTTPHEADER, cfg->auth);

  lua_settop(L, top);
  /* operational failures, not misuse: a finished transfer that says so */
  if (t->form.failed) {
    read_failure(t);
    release(t);
    t->state = VN_DONE;
    return t;
  }
  if (sink && vn_sink_open(&t->sink, sink, mkdir) != 0) {
    t->facts.code = CURLE_WRITE_ERROR;
    t->facts.error = t->sink.file_error;
    release(t);
    t->state = VN_DONE;
    return t;
  }
  if (curl_multi_add_handle(p->multi, e) != CURLM_OK) luaL_error(L, "vinano: curl_multi_add_handle failed");
  t->cfg = cfg;
  t->has_named = cfg->named.n > 0;
  t->state = VN_RUNNING;
  p->running++;
  lua_pushvalue(L, top);
  t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return t;
}

/* ---- methods */

static vn_transfer *check(lua_State *L) { return (vn_transfer *)vn_class_check(L, 1, VN_TRANSFER_MT); }

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, (lua_Number)v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, long v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}

/* json = true: facts.json is the body decoded when it is a JSON object,
 * else false (with json_error saying where the text went wrong). */
static void push_json(lua_State *L, const vn_sink *s) {
  char err[160];
  if (!s->body.data || !vn_json_is_object(s->body.data, s->body.len)) {
    lua_pushboolean(L, 0);
  } else if (!vn_json_push(L, s->body.data, s->body.len, err, sizeof err)) {
    lua_pushstring(L, err);
    lua_setfield(L, -2, "json_error");
    lua_pushboolean(L, 0);
  }
  lua_setfield(L, -2, "json");
}

static int t_result(lua_State *L) {
  vn_transfer *t = check(L);
  const vn_facts *f = &t->facts;
  const vn_sink *s = &t->sink;
  if (t->state == VN_RUNNING) return luaL_error(L, "vinano: transfer still running (step the client until done)");
  if (t->state == VN_IDLE) return luaL_error(L, "vinano: transfer never started");
  if (t->state == VN_CLOSED) return luaL_error(L, "vinano: transfer closed");
  lua_createtable(L, 0, 16);
  set_int(L, "code", (long)f->code);
  if (f->code != CURLE_OK) set_str(L, "error", f->error);
  set_int(L, "status", f->status);
  if (t->head.data) {
    lua_pushlstring(L, t->head.data, t->head.len);
    lua_setfield(L, -2, "headers");
  }
  if (!s->path || s->body.len > 0 || f->status < 200 || f->status > 299) {
    lua_pushlstring(L, s->body.data ? s->body.data : "", s->body.len);
    lua_setfield(L, -2, "body");
    if (t->json) push_json(L, s);
  }
  if (t->has_named) {
    vn_named_push(L, &t->named);
    lua_setfield(L, -2, "header_values");
  }
  if (s->committed) {
    set_str(L, "path", s->path);
    set_num(L, "bytes", (double)s->written);
  }
  if (s->file_errno) set_str(L, "file_error", s->file_error);
  if (f->read_failed) set_str(L, "file_error", f->error);
  if (s->too_large) set_bool(L, "too_large", 1);
  if (t->cancelled) set_bool(L, "cancelled", 1);
  set_bool(L, "request_sent", f->request_sent);
  set_str(L, "content_type", f->content_type);
  set_str(L, "redirect_url", f->redirect_url);
  if (f->retry_after > 0) set_num(L, "retry_after", (double)f->retry_after);
  set_int(L, "new_connections", f->new_connections);
  if (f->local_port > 0) set_int(L, "local_port", f->local_port);
  set_num(L, "seconds", f->seconds);
  switch (f->http_version) {
    case CURL_HTTP_VERSION_1_0: set_str(L, "http_version", "1.0"); break;
    case CURL_HTTP_VERSION_1_1: set_str(L, "http_version", "1.1"); break;
    case CURL_HTTP_VERSION_2_0: set_str(L, "http_version", "2"); break;
#if LIBCURL_VERSION_NUM >= 0x074200
    case CURL_HTTP_VERSION_3: set_str(L, "http_version", "3"); break;
#endif
    default: break;
  }
  return 1;
}

static int t_done(lua_State *L) {
  vn_transfer *t = check(L);
  lua_pushboolean(L, t->state == VN_DONE || t->state == VN_CLOSED);
  return 1;
}

static int t_state(lua_State *L) {
  lua_pushstring(L, state_names[check(L)->state]);
  return 1;
}

static int t_cancel(lua_State *L) {
  lua_pushboolean(L, vn_transfer_cancel(L, check(L)));
  return 1;
}

static int t_progress(lua_State *L) {
  vn_transfer *t = check(L);
  lua_pushnumber(L, (lua_Number)t->up_now);
  lua_pushnumber(L, (lua_Number)t->up_total);
  lua_pushnumber(L, (lua_Number)t->down_now);
  lua_pushnumber(L, (lua_Number)t->down_total);
  return 4;
}

/* Idempotent: __gc, __close and close() all land here. */
static int t_close(lua_State *L) {
  vn_transfer *t = check(L);
  if (t->state == VN_CLOSED) return 0;
  vn_transfer_cancel(L, t);
  if (t->pool)
    release(t);
  else
    vn_transfer_orphan(L, t);
  vn_sink_free(&t->sink);
  vn_buffer_free(&t->head);
  vn_buffer_free(&t->named);
  free(t->facts.content_type);
  free(t->facts.redirect_url);
  free(t->facts.read_error);
  t->facts.content_type = t->facts.redirect_url = t->facts.read_error = NULL;
  unanchor(L, t);
  t->state = VN_CLOSED;
  return 0;
}

static int t_tostring(lua_State *L) {
  lua_pushfstring(L, "vinano.core.transfer (%s)", state_names[check(L)->state]);
  return 1;
}

void vn_transfer_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"result", t_result}, {"done", t_done},         {"state", t_state},
                                     {"cancel", t_cancel}, {"progress", t_progress}, {"close", t_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", t_close}, {"__close", t_close}, {"__tostring", t_tostring}, {NULL, NULL}};
  vn_class_register(L, VN_TRANSFER_MT, methods, meta);
}
