/*
 * The response headers the Lua side named (core.new{headers = ...}),
 * collected line by line as libcurl delivers them, so that nobody scans the
 * header block again for them.  A line counts when it starts with the name
 * (any case) directly followed by ':'.  Kept per match, in arrival order:
 * [kind][name length][name][value length][value], so that the last one of
 * a name wins when they are read.  C knows the names only as given.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

#define NAME_MAX_LEN 64

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int token_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

void vn_named_read(lua_State *L, int idx, vn_named_set *set) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  if (lua_isnil(L, idx)) return;
  if (lua_type(L, idx) != LUA_TTABLE) vn_raise(L, 0, "headers", "table {name = \"number\"|\"string\"} expected");
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    size_t n, i;
    const char *name, *kind;
    vn_named *h;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      vn_raise(L, 0, "headers", "table {name = \"number\"|\"string\"} expected");
    name = lua_tolstring(L, -2, &n);
    kind = lua_tostring(L, -1);
    if (n == 0 || n > NAME_MAX_LEN) vn_raise(L, 0, "headers", "a name is 1 to 64 characters");
    for (i = 0; i < n; i++)
      if (!token_char((unsigned char)name[i])) vn_raise(L, 0, "headers", "a name is an HTTP token (no ':', space, CR, LF, NUL)");
    if (strcmp(kind, "number") != 0 && strcmp(kind, "string") != 0)
      vn_raise(L, 0, "headers", "a kind is \"number\" or \"string\"");
    if (set->n >= VN_MAX_NAMED) vn_raise(L, 0, "headers", "at most 16 names");
    h = &set->h[set->n];
    h->name = (char *)malloc(n + 1);
    if (!h->name) {
      luaL_error(L, "vinano: out of memory");
      return;
    }
    for (i = 0; i < n; i++) h->name[i] = (char)lower((unsigned char)name[i]);
    h->name[n] = '\0';
    h->len = n;
    h->number = kind[0] == 'n';
    set->n++;
    lua_pop(L, 1);
  }
}

void vn_named_free(vn_named_set *set) {
  int i;
  for (i = 0; i < set->n; i++) free(set->h[i].name);
  set->n = 0;
}

static int same_name(const char *line, const vn_named *h) {
  size_t i;
  for (i = 0; i < h->len; i++)
    if (lower((unsigned char)line[i]) != h->name[i]) return 0;
  return 1;
}

void vn_named_line(const vn_named_set *set, const char *line, size_t n, vn_buffer *vals) {
  int i;
  if (n > 0 && line[n - 1] == '\n') n--;
  for (i = 0; i < set->n; i++) {
    const vn_named *h = &set->h[i];
    const char *v, *e;
    unsigned char head[2];
    size_t vlen;
    if (n <= h->len || line[h->len] != ':' || lower((unsigned char)line[0]) != h->name[0] || !same_name(line, h))
      continue;
    v = line + h->len + 1;
    e = line + n;
    if (!h->number) { /* the text: spaces and tabs around it, and the CR, cut */
      while (v < e && (*v == ' ' || *v == '\t')) v++;
      while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    } /* a number is read as tonumber reads it, which skips the spaces itself */
    vlen = (size_t)(e - v);
    head[0] = (unsigned char)h->number;
    head[1] = (unsigned char)h->len;
    /* all or nothing: a short entry would misread the rest */
    {
      size_t before = vals->len;
      if (!vn_buffer_add(vals, head, 2) || !vn_buffer_add(vals, h->name, h->len) ||
          !vn_buffer_add(vals, &vlen, sizeof vlen) || !vn_buffer_add(vals, v, vlen))
        vals->len = before;
    }
    return;
  }
}

/* Lua's tonumber(s) of s[0..n), non-finite refused, a whole float as an
 * integer on 5.3+ (math.tointeger); nil when it does not convert. */
static void push_number(lua_State *L, const char *s, size_t n) {
#if LUA_VERSION_NUM >= 503
  char local[64];
  char *z = local;
  if (n >= sizeof local) z = (char *)lua_newuserdatauv(L, n + 1, 0);
  memcpy(z, s, n);
  z[n] = '\0';
  if (lua_stringtonumber(L, z) != n + 1) {
    if (z != local) lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  if (z != local) lua_remove(L, -2);
  if (!lua_isinteger(L, -1)) {
    lua_Number d = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (d != d || d == HUGE_VAL || d == -HUGE_VAL)
      lua_pushnil(L);
    else if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
      lua_pushinteger(L, (lua_Integer)d);
    else
      lua_pushnumber(L, d);
  }
#else
  lua_Number d;
  lua_pushlstring(L, s, n);
  if (!lua_isnumber(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  d = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (d != d || d == HUGE_VAL || d == -HUGE_VAL)
    lua_pushnil(L);
  else
    lua_pushnumber(L, d);
#endif
}

void vn_named_push(lua_State *L, const vn_buffer *vals) {
  size_t at = 0;
  lua_createtable(L, 0, 4);
  while (vals->data && at + 2 + sizeof(size_t) <= vals->len) {
    const unsigned char *e = (const unsigned char *)vals->data + at;
    int number = e[0];
    size_t nlen = e[1], vlen;
    const char *name = (const char *)e + 2, *v;
    memcpy(&vlen, name + nlen, sizeof vlen);
    v = name + nlen + sizeof vlen;
    lua_pushlstring(L, name, nlen);
    if (number)
      push_number(L, v, vlen);
    else
      lua_pushlstring(L, v, vlen);
    lua_rawset(L, -3);
    at += 2 + nlen + sizeof vlen + vlen;
  }
}
