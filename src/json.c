/*
 * JSON text -> Lua value, straight onto the Lua stack: objects and arrays
 * become plain tables (no metatable), null the light userdata NULL (which
 * is lua-cjson's cjson.null, so vinano.null compares equal), numbers that
 * hold a whole value of at most 2^53 in magnitude integers on Lua 5.3+ (the
 * rule the Lua layer applied after cjson before), other numbers floats.
 *
 * RFC 8259's grammar, with lua-cjson's leniency inside strings (raw control
 * bytes other than NUL pass, bytes are not checked to be UTF-8), so that
 * every text accepted here lua-cjson accepts with the same value.  Nesting
 * is bounded (VN_JSON_MAX_DEPTH, lua-cjson's default too) and the text by
 * its caller (max_response).  Nothing is allocated outside Lua, so a memory
 * error raised by Lua while building leaks nothing.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

typedef struct parser {
  lua_State *L;
  const char *start, *p, *end;
  int depth;
  const char *err; /* what went wrong, at p */
} parser;

static int fail(parser *ps, const char *why) {
  ps->err = why;
  return 0;
}

static void skip_ws(parser *ps) {
  const char *p = ps->p, *end = ps->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  ps->p = p;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int c = (unsigned char)p[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return 0;
    v = v * 16 + (unsigned)d;
  }
  *out = v;
  return 1;
}

static size_t utf8_put(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* A string with escapes, from the opening quote's next byte (ps->p); the
 * escaped form is never shorter than what it stands for. */
static int push_escaped(parser *ps) {
  lua_State *L = ps->L;
  const char *p = ps->p, *end = ps->end;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (p < end && *p != '"') {
    char tmp[8];
    size_t n = 0;
    if (*p == '\0') {
      ps->p = p;
      return fail(ps, "NUL byte in a string");
    }
    if (*p != '\\') {
      const char *q = p;
      while (q < end && *q != '"' && *q != '\\' && *q != '\0') q++;
      luaL_addlstring(&b, p, (size_t)(q - p));
      p = q;
      continue;
    }
    if (p + 1 >= end) { /* a backslash at the very end */
      p = end;
      break;
    }
    switch (p[1]) {
      case '"': tmp[n++] = '"'; break;
      case '\\': tmp[n++] = '\\'; break;
      case '/': tmp[n++] = '/'; break;
      case 'b': tmp[n++] = '\b'; break;
      case 'f': tmp[n++] = '\f'; break;
      case 'n': tmp[n++] = '\n'; break;
      case 'r': tmp[n++] = '\r'; break;
      case 't': tmp[n++] = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (end - p < 6 || !hex4(p + 2, &cp)) {
          ps->p = p;
          return fail(ps, "invalid \\u escape");
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          ps->p = p;
          return fail(ps, "lone UTF-16 low surrogate in a \\u escape");
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
            ps->p = p;
            return fail(ps, "UTF-16 high surrogate without its low half in a \\u escape");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        }
        n = utf8_put(tmp, cp);
        p += 4; /* with the 2 below: past \uXXXX */
        break;
      }
      default:
        ps->p = p;
        return fail(ps, "invalid escape in a string");
    }
    luaL_addlstring(&b, tmp, n);
    p += 2;
  }
  if (p >= end) {
    ps->p = end;
    return fail(ps, "unterminated string");
  }
  luaL_pushresult(&b);
  ps->p = p + 1;
  return 1;
}

/* ps->p is at the opening quote.  The usual string has no escape and no
 * NUL: memchr finds its end, two more check the span (vector speed). */
static int push_string(parser *ps) {
  const char *s = ps->p + 1, *end = ps->end;
  const char *q = (const char *)memchr(s, '"', (size_t)(end - s));
  size_t n = q ? (size_t)(q - s) : (size_t)(end - s);
  if (q && !memchr(s, '\\', n) && !memchr(s, '\0', n)) {
    lua_pushlstring(ps->L, s, n);
    ps->p = q + 1;
    return 1;
  }
  ps->p = s;
  return push_escaped(ps);
}

#define TWO_53 9007199254740992.0

static void push_double(lua_State *L, double d) {
#if LUA_VERSION_NUM >= 503
  if (d >= -TWO_53 && d <= TWO_53 && d == floor(d)) {
    lua_pushinteger(L, (lua_Integer)d);
    return;
  }
#endif
  lua_pushnumber(L, (lua_Number)d);
}

/* strtod of the token p[0..n), whatever the C locale's decimal point. */
static double to_double(lua_State *L, const char *p, size_t n) {
  char local[64], *s = local, point = localeconv()->decimal_point[0];
  double d;
  size_t i;
  if (n >= sizeof local) { /* a long token: room from Lua, freed by the collector */
    s = (char *)lua_newuserdatauv(L, n + 1, 0);
  }
  memcpy(s, p, n);
  s[n] = '\0';
  if (point != '.')
    for (i = 0; i < n; i++)
      if (s[i] == '.') s[i] = point;
  d = strtod(s, NULL);
  if (s != local) lua_pop(L, 1);
  return d;
}

static int push_number(parser *ps) {
  const char *p = ps->p, *end = ps->end, *start = p;
  int neg = 0, integral = 1;
  size_t digits;
  if (p < end && *p == '-') neg = 1, p++;
  if (p >= end || *p < '0' || *p > '9') return fail(ps, "invalid number");
  if (*p == '0') {
    p++;
    if (p < end && *p >= '0' && *p <= '9') return fail(ps, "invalid number (leading zero)");
  } else {
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  digits = (size_t)(p - start) - (size_t)neg;
  if (p < end && *p == '.') {
    integral = 0;
    p++;
    if (p >= end || *p < '0' || *p > '9') {
      ps->p = p;
      return fail(ps, "invalid number (no digit after '.')");
    }
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    integral = 0;
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || *p < '0' || *p > '9') {
      ps->p = p;
      return fail(ps, "invalid number (no digit in the exponent)");
    }
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  ps->p = p;
  if (integral && digits <= 15) { /* exact in a double: no strtod */
    long long v = 0;
    const char *q;
    for (q = start + neg; q < p; q++) v = v * 10 + (*q - '0');
#if LUA_VERSION_NUM >= 503
    lua_pushinteger(ps->L, (lua_Integer)(neg ? -v : v));
#else
    lua_pushnumber(ps->L, neg ? -(lua_Number)v : (lua_Number)v); /* -0 stays -0, as in cjson */
#endif
    return 1;
  }
  push_double(ps->L, to_double(ps->L, start, (size_t)(p - start)));
  return 1;
}

static int literal(parser *ps, const char *word, size_t n) {
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return fail(ps, "expected a value");
  ps->p += n;
  return 1;
}

static int push_value(parser *ps);

#define PENDING_MAX 32 /* key/value pairs (objects) or 2x values (arrays) held on the stack */
/* The outermost object gets room for this many more fields: what its reader
 * adds to a document (attempts, elapsed, rate_limit) then needs no rehash. */
#define TOP_ROOM 4

static int enter(parser *ps) {
  if (ps->depth >= VN_JSON_MAX_DEPTH) return fail(ps, "nested deeper than " VN_JSON_MAX_DEPTH_S " levels");
  if (!lua_checkstack(ps->L, 2 * PENDING_MAX + 8)) return fail(ps, "nested too deeply for the Lua stack");
  ps->depth++;
  return 1;
}

/* Members wait on the stack above the container's slot (at base) and go
 * into the table in batches: a table made for the count it will hold is
 * never rehashed, which is most of what building it costs. */
typedef struct container {
  int base;    /* the stack slot of the table, once made */
  int made;    /* the table exists at base */
  int pending; /* values (arrays) or key/value pairs (objects) above it */
  int index;   /* array: elements stored so far */
} container;

static void flush(lua_State *L, container *c, int object, int closing, int depth) {
  int i;
  if (!c->made) {
    int guess = closing ? c->pending + (object && depth == 1 ? TOP_ROOM : 0) : 2 * c->pending;
    if (object)
      lua_createtable(L, 0, guess);
    else
      lua_createtable(L, guess, 0);
    lua_insert(L, c->base);
    c->made = 1;
  }
  if (object) { /* in order: of a repeated key the last one wins, as in cjson */
    int top = lua_gettop(L), k;
    for (i = 0, k = top - 2 * c->pending + 1; i < c->pending; i++, k += 2) {
      lua_pushvalue(L, k);
      lua_pushvalue(L, k + 1);
      lua_rawset(L, c->base);
    }
    lua_settop(L, c->base);
  } else {
    for (i = c->pending; i > 0; i--) lua_rawseti(L, c->base, c->index + i);
    c->index += c->pending;
  }
  c->pending = 0;
}

static int push_object(parser *ps) {
  lua_State *L = ps->L;
  container c;
  if (!enter(ps)) return 0;
  c.base = lua_gettop(L) + 1;
  c.made = c.pending = c.index = 0;
  ps->p++; /* { */
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    ps->depth--;
    lua_createtable(L, 0, 0);
    return 1;
  }
  for (;;) {
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a string key");
    if (!push_string(ps)) return 0;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':' after a key");
    ps->p++;
    if (!push_value(ps)) return 0;
    if (++c.pending == PENDING_MAX) flush(L, &c, 1, 0, ps->depth);
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == '}') break;
    return fail(ps, "expected ',' or '}' in an object");
  }
  flush(L, &c, 1, 1, ps->depth);
  ps->p++;
  ps->depth--;
  return 1;
}

static int push_array(parser *ps) {
  lua_State *L = ps->L;
  container c;
  if (!enter(ps)) return 0;
  c.base = lua_gettop(L) + 1;
  c.made = c.pending = c.index = 0;
  ps->p++; /* [ */
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    ps->depth--;
    lua_createtable(L, 0, 0);
    return 1;
  }
  for (;;) {
    if (!push_value(ps)) return 0;
    if (++c.pending == 2 * PENDING_MAX) flush(L, &c, 0, 0, ps->depth);
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == ']') break;
    return fail(ps, "expected ',' or ']' in an array");
  }
  flush(L, &c, 0, 1, ps->depth);
  ps->p++;
  ps->depth--;
  return 1;
}

static int push_value(parser *ps) {
  skip_ws(ps);
  if (ps->p >= ps->end) return fail(ps, "expected a value, found the end of the text");
  switch (*ps->p) {
    case '{': return push_object(ps);
    case '[': return push_array(ps);
    case '"': return push_string(ps);
    case 't':
      if (!literal(ps, "true", 4)) return 0;
      lua_pushboolean(ps->L, 1);
      return 1;
    case 'f':
      if (!literal(ps, "false", 5)) return 0;
      lua_pushboolean(ps->L, 0);
      return 1;
    case 'n':
      if (!literal(ps, "null", 4)) return 0;
      lua_pushlightuserdata(ps->L, NULL);
      return 1;
    default:
      if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return push_number(ps);
      return fail(ps, "expected a value");
  }
}

int vn_json_push(lua_State *L, const char *s, size_t n, char *err, size_t errsize) {
  parser ps;
  int base = lua_gettop(L);
  ps.L = L;
  ps.start = ps.p = s;
  ps.end = s + n;
  ps.depth = 0;
  ps.err = NULL;
  if (push_value(&ps)) {
    skip_ws(&ps);
    if (ps.p == ps.end) return 1;
    fail(&ps, "text after the end of the JSON value");
  }
  lua_settop(L, base);
  snprintf(err, errsize, "invalid JSON at byte %lu: %s", (unsigned long)(ps.p - ps.start) + 1, ps.err);
  return 0;
}

int vn_json_is_object(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
  return i < n && s[i] == '{';
}
