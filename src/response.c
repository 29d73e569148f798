/*
 * A finished transfer becomes Lua values here: JSON through lua-cjson, the
 * HTTP status and body into an error kind, a poll answer into a state, the
 * response headers into the info table (status, headers, rate_limit).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

#define SNIPPET_MAX 120

/* The start of a body, escaped so that any bytes are safe in a log line. */
static void push_snippet(lua_State *L, const char *s, size_t len) {
  luaL_Buffer b;
  size_t i, n = len < SNIPPET_MAX ? len : SNIPPET_MAX;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '"');
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
      luaL_addchar(&b, (char)ch);
    } else if (ch == '"' || ch == '\\') {
      luaL_addchar(&b, '\\');
      luaL_addchar(&b, (char)ch);
    } else {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", ch);
      luaL_addstring(&b, esc);
    }
  }
  luaL_addchar(&b, '"');
  if (n < len) luaL_addstring(&b, "...");
  if (len == 0) luaL_addstring(&b, " (empty)");
  luaL_pushresult(&b);
}

static const char *kind_for_status(long status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 413: return "payload_too_large";
    case 429: return "rate_limited";
    case 495: return "insufficient_credits";
    default: return status >= 400 && status < 500 ? "bad_request" : "server";
  }
}

#if LUA_VERSION_NUM >= 503
/* lua-cjson decodes every number as a float; on 5.3+ whole numbers become
 * integers again, so that 64 prints as 64 and not 64.0. */
static void integers(lua_State *L, int t, int depth) {
  if (depth > 64 || !lua_checkstack(L, 3)) return;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      lua_Number n = lua_tonumber(L, -1);
      if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(lua_Integer)n) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, (lua_Integer)n);
        lua_rawset(L, t);
      }
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      integers(L, lua_gettop(L), depth + 1);
    }
    lua_pop(L, 1);
  }
}
#endif

/* Decodes the body with the cjson.safe decoder at upvalue 1.  Pushes the
 * table, or nothing and returns 0 when the body is not a JSON object. */
static int decode_object(lua_State *L, const vn_request *r) {
  if (!r->body.data) return 0;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushlstring(L, r->body.data, r->body.len);
  if (lua_pcall(L, 1, 1, 0) != 0 || !lua_istable(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
#if LUA_VERSION_NUM >= 503
  integers(L, lua_gettop(L), 0);
#endif
  return 1;
}

/* A server message from any of the fields a real API or proxy uses. */
static void push_server_message(lua_State *L, int t, const vn_request *r, long status) {
  static const char *const fields[] = {"message", "error", "msg", "detail", NULL};
  int i;
  if (t) {
    for (i = 0; fields[i]; i++) {
      lua_getfield(L, t, fields[i]);
      if (lua_istable(L, -1)) { /* {"error": {"message": "..."}} */
        lua_getfield(L, -1, "message");
        lua_replace(L, -2);
      }
      if (lua_type(L, -1) == LUA_TSTRING) return;
      lua_pop(L, 1);
    }
  }
  if (r->body.len > 0) {
    lua_pushfstring(L, "HTTP %d; body: ", (int)status);
    push_snippet(L, r->body.data, r->body.len);
    lua_concat(L, 2);
  } else {
    lua_pushfstring(L, "HTTP %d with an empty body", (int)status);
  }
}

static void set_retry_after(lua_State *L, const vn_request *r, int err) {
#if LIBCURL_VERSION_NUM >= 0x074200
  curl_off_t ra = 0;
  if (r->easy && curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
    lua_pushnumber(L, (lua_Number)ra);
    lua_setfield(L, err, "retry_after");
  }
#else
  (void)L, (void)r, (void)err;
#endif
}

/* Pushes an HTTP error for status, with the body's message when it has one. */
static void push_http_error(lua_State *L, const vn_request *r, int t) {
  long status = r->status;
  if (status >= 300 && status < 400) {
    char *location = NULL;
    if (r->easy) curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_URL, &location);
    vn_push_error(L, "server", status, "redirect to %s not followed (the token is only sent to the API host)",
                  location ? location : "(no Location)");
    return;
  }
  push_server_message(L, t, r, status);
  vn_push_error(L, kind_for_status(status), status, "%s", lua_tostring(L, -1));
  lua_remove(L, -2);
  set_retry_after(L, r, lua_gettop(L));
}

static void push_decode_error(lua_State *L, const vn_request *r, const char *what) {
  push_snippet(L, r->body.data ? r->body.data : "", r->body.len);
  vn_push_error(L, "decode", r->status, "%s; body: %s", what, lua_tostring(L, -1));
  lua_remove(L, -2);
}

static int field_is(lua_State *L, int t, const char *name, int type) {
  int ok;
  lua_getfield(L, t, name);
  ok = lua_type(L, -1) == type;
  lua_pop(L, 1);
  return ok;
}

static int in_list(const char *s, const char *const *list) {
  int i;
  for (i = 0; list[i]; i++)
    if (strcmp(s, list[i]) == 0) return 1;
  return 0;
}

/* The poll rules of api-notes.md; NULL when the answer fits none of them. */
static const char *poll_state(lua_State *L, int t) {
  static const char *const pending[] = {"pending", "queued", "processing", "running", "in_progress", "202", NULL};
  static const char *const failed[] = {"failed", "error", "cancelled", "canceled", "timeout", NULL};
  static const char *const done[] = {"200", "done", "completed", "succeeded", "success", NULL};
  int has_images = field_is(L, t, "images", LUA_TTABLE);
  const char *state = NULL;
  lua_getfield(L, t, "status");
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number v = lua_tonumber(L, -1);
    if (v == 202)
      state = "pending";
    else if (v >= 400)
      state = "failed";
    else if (v == 200 && has_images)
      state = "done";
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    char low[24];
    size_t i, len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len < sizeof low) {
      for (i = 0; i <= len; i++) low[i] = (char)tolower((unsigned char)s[i]);
      if (in_list(low, pending))
        state = "pending";
      else if (in_list(low, failed))
        state = "failed";
      else if (in_list(low, done) && has_images)
        state = "done";
    }
  } else if (lua_isnil(L, -1) && has_images) {
    state = "done";
  }
  lua_pop(L, 1);
  return state;
}

static void push_state_table(lua_State *L, int t, const char *state, long http_status) {
  if (t)
    lua_pushvalue(L, t);
  else
    lua_newtable(L);
  if (!t || field_is(L, -1, "status", LUA_TNIL)) {
    lua_pushinteger(L, (lua_Integer)http_status);
    lua_setfield(L, -2, "status");
  }
  lua_pushstring(L, state);
  lua_setfield(L, -2, "state");
}

/* Pushes res or nil, then nil or err. */
static void push_outcome(lua_State *L, const vn_request *r) {
  long status = r->status;
  int t;
  if (r->cancelled) {
    lua_pushnil(L);
    vn_push_error(L, "cancelled", 0, "request cancelled before it finished");
    return;
  }
  if (r->too_large) {
    lua_pushnil(L);
    char limit[32];
    snprintf(limit, sizeof limit, "%lu", (unsigned long)(r->client ? r->client->max_response : 0));
    vn_push_error(L, "decode", status, "response larger than the %s-byte limit (max_response)", limit);
    return;
  }
  if (r->code != CURLE_OK) {
    lua_pushnil(L);
    vn_push_error(L, r->code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network", 0, "%s",
                  r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->code));
    lua_pushinteger(L, (lua_Integer)r->code);
    lua_setfield(L, -2, "curl_code");
    if (r->easy) { /* nothing sent yet: safe to retry even a POST */
      long sent = 0;
      curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
      lua_pushboolean(L, sent > 0);
      lua_setfield(L, -2, "request_sent");
    }
    return;
  }
  if (r->op == VN_OP_DOWNLOAD && r->file_error) {
    lua_pushnil(L);
    vn_push_error(L, "io", 0, "writing '%s': %s", r->path, strerror(r->file_error));
    return;
  }
  if (r->op == VN_OP_DOWNLOAD && status >= 200 && status < 300) {
    char *type = NULL;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, r->path);
    lua_setfield(L, -2, "path");
    lua_pushinteger(L, (lua_Integer)r->written);
    lua_setfield(L, -2, "bytes");
    if (r->easy) curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &type);
    if (type) {
      lua_pushstring(L, type);
      lua_setfield(L, -2, "content_type");
    }
    lua_pushnil(L);
    return;
  }
  t = decode_object(L, r) ? lua_gettop(L) : 0;

  if (status < 200 || status >= 300) {
    /* a task the server says is gone or bad has failed; auth, limits and
     * 5xx are errors of the poll itself (a 5xx poll may be retried) */
    if (r->op == VN_OP_POLL && status >= 400 && status < 500 && status != 401 && status != 403 && status != 429 &&
        status != 495) {
      push_state_table(L, t, "failed", status);
      lua_pushnil(L);
    } else {
      lua_pushnil(L);
      push_http_error(L, r, t);
    }
  } else if (!t) {
    if (r->op == VN_OP_POLL && status == 202) { /* still running, body not JSON */
      push_state_table(L, 0, "pending", status);
      lua_pushnil(L);
    } else {
      lua_pushnil(L);
      push_decode_error(L, r, "expected a JSON object");
    }
  } else if (r->op == VN_OP_POLL) {
    const char *state = status == 202 ? "pending" : poll_state(L, t);
    if (state) {
      push_state_table(L, t, state, status);
      lua_pushnil(L);
    } else {
      lua_pushnil(L);
      push_decode_error(L, r, "task status not recognised");
    }
  } else {
    lua_Number body_status = 0;
    lua_getfield(L, t, "status");
    if (lua_type(L, -1) == LUA_TNUMBER) body_status = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (body_status >= 400) { /* an error told in the body of a 2xx */
      vn_request tmp = *r;
      tmp.status = body_status < 1000 ? (long)body_status : 999; /* (long)1e300 is undefined */
      lua_pushnil(L);
      push_http_error(L, &tmp, t);
    } else if (r->op == VN_OP_GENERATE && !field_is(L, t, "images", LUA_TTABLE)) {
      lua_pushnil(L);
      push_decode_error(L, r, "response has no 'images' list");
    } else if (r->op == VN_OP_SUBMIT && !field_is(L, t, "task_id", LUA_TSTRING) &&
               !field_is(L, t, "task_id", LUA_TNUMBER)) {
      lua_pushnil(L);
      push_decode_error(L, r, "response has no 'task_id'");
    } else {
      lua_pushvalue(L, t);
      lua_pushnil(L);
    }
  }
  if (t) lua_remove(L, t);
}

static void set_number(lua_State *L, int t, const char *field, const char *text) {
  char *end;
  double v;
  long long whole = strtoll(text, &end, 10); /* the usual case, far cheaper than strtod */
  if (end != text && *end == '\0') {
    lua_pushinteger(L, (lua_Integer)whole);
    lua_setfield(L, t, field);
    return;
  }
  v = strtod(text, &end);
  if (end != text) {
    /* |v| <= 2^53 first: casting NaN, inf or 1e300 to an integer is undefined */
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(lua_Integer)v)
      lua_pushinteger(L, (lua_Integer)v);
    else
      lua_pushnumber(L, v);
    lua_setfield(L, t, field);
  }
}

/* info = {status=, headers={name=value}, rate_limit={limit=, remaining=, reset=}, retry_after=} */
static void push_info(lua_State *L, const vn_request *r) {
  int info, headers, rl;
  lua_createtable(L, 0, 8); /* sized once: no rehash while it fills */
  info = lua_gettop(L);
  if (r->status > 0) {
    lua_pushinteger(L, (lua_Integer)r->status);
    lua_setfield(L, info, "status");
  }
  lua_createtable(L, 0, 16);
  headers = lua_gettop(L);
  lua_createtable(L, 0, 3);
  rl = lua_gettop(L);
  if (r->head.data) {
    const char *p = r->head.data, *end = p + r->head.len;
    const char *eol = memchr(p, '\n', (size_t)(end - p)); /* past the status line */
    p = eol ? eol + 1 : end;
    while (p < end) {
      const char *colon, *v, *ve;
      eol = memchr(p, '\n', (size_t)(end - p));
      if (!eol) eol = end;
      colon = memchr(p, ':', (size_t)(eol - p));
      if (colon && colon > p && *p != ' ' && *p != '\t') {
        char name[64], value[64];
        size_t i, nlen = (size_t)(colon - p);
        if (nlen > sizeof name - 1) nlen = sizeof name - 1;
        for (i = 0; i < nlen; i++) name[i] = (char)tolower((unsigned char)p[i]);
        name[nlen] = '\0';
        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
        }
        for (ve = eol; ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'); ve--) {
        }
        lua_pushlstring(L, name, nlen);
        lua_pushvalue(L, -1);
        lua_rawget(L, headers);
        if (lua_isstring(L, -1)) { /* repeated header: join as HTTP allows */
          lua_pushliteral(L, ", ");
          lua_pushlstring(L, v, (size_t)(ve - v));
          lua_concat(L, 3);
        } else {
          lua_pop(L, 1);
          lua_pushlstring(L, v, (size_t)(ve - v));
        }
        lua_rawset(L, headers);
        if (nlen > 12 && memcmp(name, "x-ratelimit-", 12) == 0 && (size_t)(ve - v) < sizeof value) {
          memcpy(value, v, (size_t)(ve - v));
          value[ve - v] = '\0';
          if (strcmp(name + 12, "limit") == 0)
            set_number(L, rl, "limit", value);
          else if (strcmp(name + 12, "remaining") == 0)
            set_number(L, rl, "remaining", value);
          else if (strcmp(name + 12, "reset") == 0)
            set_number(L, rl, "reset", value);
        }
      }
      p = eol + 1;
    }
  }
  lua_setfield(L, info, "rate_limit");
  lua_setfield(L, info, "headers");
  if (r->easy) { /* new_connections = 0 and a stable local_port show keep-alive at work */
    long connects = 0, port = 0;
    double total = 0;
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(r->easy, CURLINFO_LOCAL_PORT, &port);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &total);
    lua_pushinteger(L, connects);
    lua_setfield(L, info, "new_connections");
    lua_pushinteger(L, port);
    lua_setfield(L, info, "local_port");
    lua_pushnumber(L, total);
    lua_setfield(L, info, "seconds");
    {
      long v = 0;
      curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &v);
      lua_pushstring(L, v == CURL_HTTP_VERSION_3 ? "3" : v == CURL_HTTP_VERSION_2_0 ? "2" : v == CURL_HTTP_VERSION_1_0 ? "1.0" : v == 0 ? "" : "1.1");
      lua_setfield(L, info, "http_version");
    }
  }
  set_retry_after(L, r, info);
}

int vn_response_push(lua_State *L, vn_request *r) {
  push_outcome(L, r);
  push_info(L, r);
  return 3;
}
