/*
 * A params table becomes multipart parts, as `curl -F` would send them:
 * known fields in the order of the API page's example, booleans as
 * true/false, lists as the field repeated, files streamed by libcurl from
 * disk (curl_mime_filedata: never read into memory here).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vinano.h"

static const char *const known_fields[] = {"prompt", "model", "aspectRatio", "googleSearch", "mode",
                                           "hdPro",  "img_size", "image",     "imageUrl",     NULL};

typedef struct form {
  lua_State *L;
  curl_mime *mime;
  char *msg;
  size_t msgsize;
} form;

static int fail(form *f, const char *fmt, const char *label, const char *detail) {
  snprintf(f->msg, f->msgsize, fmt, label, detail);
  return 0;
}

static int add_text(form *f, const char *name, const char *value, size_t len) {
  curl_mimepart *part = curl_mime_addpart(f->mime);
  if (!part || curl_mime_name(part, name) != CURLE_OK || curl_mime_data(part, value, len) != CURLE_OK)
    return fail(f, "%s: %s", name, "out of memory");
  return 1;
}

/* The value at the stack top as a text part: strings as they are, booleans
 * as true/false, numbers as integers when they are whole. */
static int add_scalar(form *f, const char *name, const char *label) {
  lua_State *L = f->L;
  char num[64];
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      return add_text(f, name, s, len);
    }
    case LUA_TBOOLEAN:
      return add_text(f, name, lua_toboolean(L, -1) ? "true" : "false", CURL_ZERO_TERMINATED);
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1))
        snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
      else
        snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, -1));
      return add_text(f, name, num, CURL_ZERO_TERMINATED);
    default:
      return fail(f, "%s: expected a string, number or boolean, got %s", label, luaL_typename(L, -1));
  }
}

/* Checked here so that a bad path fails before any byte is sent; libcurl
 * opens the file again when it streams it. */
static int check_file(form *f, const char *label, const char *path) {
  struct stat st;
  FILE *fp = fopen(path, "rb");
  char detail[300];
  if (!fp) {
    snprintf(detail, sizeof detail, "'%s' (%s)", path, strerror(errno));
    return fail(f, "%s: cannot open file %s", label, detail);
  }
  if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(fp);
    return fail(f, "%s: '%s' is not a regular file", label, path);
  }
  fclose(fp);
  if ((curl_off_t)st.st_size > VN_MAX_FILE_BYTES) {
    snprintf(detail, sizeof detail, "'%s' is %lld bytes", path, (long long)st.st_size);
    return fail(f, "%s: %s; the limit is 100 MB (104857600 bytes)", label, detail);
  }
  return 1;
}

/* A default file name for in-memory data, so libcurl picks the same
 * Content-Type from the extension as it would for a file. */
static const char *sniff_name(const char *d, size_t len) {
  if (len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return "image.png";
  if (len >= 3 && memcmp(d, "\xff\xd8\xff", 3) == 0) return "image.jpg";
  if (len >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return "image.gif";
  if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return "image.webp";
  return "image.bin";
}

/* Leaves the value on the stack: with an __index function it may be a
 * string that nothing else references, which the next lookup's garbage
 * collection would free while s still points into it. */
static const char *opt_string(lua_State *L, int t, const char *field) {
  lua_getfield(L, t, field);
  return lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
}

/* One file spec at stack index t: "path" | {path=, filename=, content_type=}
 * | {data=, filename=, content_type=}.  The fields it reads stay on the
 * stack above t until add_file resets it. */
static int add_file_at(form *f, const char *label, int t) {
  lua_State *L = f->L;
  const char *path = NULL, *filename = NULL, *type = NULL, *data = NULL;
  size_t datalen = 0;
  curl_mimepart *part;

  if (lua_type(L, t) == LUA_TSTRING) {
    path = lua_tostring(L, t);
  } else if (lua_istable(L, t)) {
    path = opt_string(L, t, "path");
    filename = opt_string(L, t, "filename");
    type = opt_string(L, t, "content_type");
    lua_getfield(L, t, "data"); /* kept on the stack, as in opt_string */
    if (lua_type(L, -1) == LUA_TSTRING) data = lua_tolstring(L, -1, &datalen);
    if (!path == !data) return fail(f, "%s: %s", label, "a file table needs exactly one of path= or data= (a string)");
  } else {
    return fail(f, "%s: expected a file path or a {path=...} / {data=...} table, got %s", label,
                luaL_typename(L, t));
  }
  if (path && !check_file(f, label, path)) return 0;
  if (data && (curl_off_t)datalen > VN_MAX_FILE_BYTES)
    return fail(f, "%s: %s", label, "data is over the 100 MB (104857600 bytes) limit");

  part = curl_mime_addpart(f->mime);
  if (!part || curl_mime_name(part, "image") != CURLE_OK) return fail(f, "%s: %s", label, "out of memory");
  if (path) {
    if (curl_mime_filedata(part, path) != CURLE_OK) return fail(f, "%s: cannot stream '%s'", label, path);
  } else {
    if (curl_mime_data(part, data, datalen) != CURLE_OK) return fail(f, "%s: %s", label, "out of memory");
    if (!filename) filename = sniff_name(data, datalen);
  }
  if (filename && curl_mime_filename(part, filename) != CURLE_OK) return fail(f, "%s: %s", label, "out of memory");
  if (type && curl_mime_type(part, type) != CURLE_OK) return fail(f, "%s: %s", label, "out of memory");
  return 1;
}

static int add_file(form *f, const char *label) {
  int t = lua_gettop(f->L);
  int ok = add_file_at(f, label, t);
  lua_settop(f->L, t);
  return ok;
}

/* A value or a list of values at the stack top, each added by addone. */
static int add_each(form *f, const char *name, int (*addone)(form *, const char *name, const char *label)) {
  lua_State *L = f->L;
  int list = lua_gettop(L);
  char label[64];
  lua_Integer i, n;
  int single;
  if (!lua_istable(L, list)) return addone(f, name, name);
  lua_rawgeti(L, list, 1);
  single = lua_isnil(L, -1); /* {path=...} rather than a list */
  lua_pop(L, 1);
  if (single) return addone(f, name, name);
  n = (lua_Integer)lua_rawlen(L, list);
  for (i = 1; i <= n; i++) {
    int ok;
    snprintf(label, sizeof label, "%s[%lld]", name, (long long)i);
    lua_rawgeti(L, list, (int)i);
    ok = addone(f, name, label);
    lua_pop(L, 1);
    if (!ok) return 0;
  }
  return 1;
}

static int add_file_named(form *f, const char *name, const char *label) {
  (void)name;
  return add_file(f, label);
}

static int is_known(const char *key) {
  int i;
  for (i = 0; known_fields[i]; i++)
    if (strcmp(key, known_fields[i]) == 0) return 1;
  return 0;
}

int vn_form_build(lua_State *L, int params, curl_mime *mime, char *msg, size_t msgsize) {
  form f;
  int i, ok = 1;
  f.L = L;
  f.mime = mime;
  f.msg = msg;
  f.msgsize = msgsize;
  params = params < 0 ? lua_gettop(L) + params + 1 : params;

  for (i = 0; ok && known_fields[i]; i++) {
    const char *name = known_fields[i];
    lua_getfield(L, params, name);
    if (!lua_isnil(L, -1)) {
      if (strcmp(name, "image") == 0)
        ok = add_each(&f, name, add_file_named);
      else if (strcmp(name, "imageUrl") == 0)
        ok = add_each(&f, name, add_scalar);
      else
        ok = add_scalar(&f, name, name);
    }
    lua_pop(L, 1);
  }
  if (!ok) return 0;
  /* fields the API may add later pass through when validation is off */
  lua_pushnil(L);
  while (lua_next(L, params) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && !is_known(lua_tostring(L, -2)) &&
        !add_scalar(&f, lua_tostring(L, -2), lua_tostring(L, -2))) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  return 1;
}
