/*
 * The parts list of c:start{parts = ...} becomes a multipart/form-data body
 * (RFC 7578), with the part headers curl_mime writes for the same parts.
 * Written here, not through curl_mime: libcurl 7.88's mime machinery (a
 * boundary from the TLS library's RNG, each part's headers formatted, the
 * body read back through its encoders) is 76 k instructions of a 253 k
 * request (bench/README.md); this is one buffer and a few memcpy.
 *
 * Each part is {name=, value=} (text), {name=, file=} (streamed from disk)
 * or {name=, data=} (bytes), with optional filename= and type=; or a text
 * part as two entries, the name string then the value string (no table per
 * field: what the Lua layer sends for every request).  Fields are read with
 * lua_rawget and every value stays on the Lua stack until it is copied into
 * the body, so no __index or collection can free a string in use.
 *
 * Text and data are copied into one buffer; a file's bytes are read from
 * disk only while libcurl sends (vn_form_read), so a 100 MB image is never
 * in memory.  Its size is taken at start: a file that shrinks meanwhile
 * fails the transfer, one that grows is sent as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

#define CRLF "\r\n"
#define DISPOSITION "Content-Disposition: form-data; name=\""
#define CONTENT_TYPE_LINE "Content-Type: multipart/form-data; boundary="

static void oom(lua_State *L, int i) { luaL_error(L, "vinano: out of memory building parts[%d]", i); }

static int header_safe(const char *s, size_t n) {
  return !memchr(s, '\0', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n) && !memchr(s, '"', n);
}

/* A header-safe text: no CR, LF, NUL or '"' (it goes inside quotes). */
static const char *header_text(lua_State *L, int t, const char *key, int arg, int i, int required) {
  size_t n;
  const char *s;
  lua_pushstring(L, key);
  lua_rawget(L, t);
  if (lua_isnil(L, -1)) {
    if (required) luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: string expected", i, key));
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: string expected, got %s", i, key, luaL_typename(L, -1)));
  s = lua_tolstring(L, -1, &n);
  if (!header_safe(s, n)) luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: contains CR, LF, NUL or '\"'", i, key));
  return s;
}

/* The string at key, or NULL when absent; left on the stack either way. */
static const char *bytes_field(lua_State *L, int t, const char *key, int arg, int i, size_t *len) {
  lua_pushstring(L, key);
  lua_rawget(L, t);
  if (lua_isnil(L, -1)) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: string expected, got %s", i, key, luaL_typename(L, -1)));
  return lua_tolstring(L, -1, len);
}

/* The type curl_mime gives a file name's extension (libcurl 7.88's table). */
static const char *type_of_name(const char *name) {
  static const char *const map[][2] = {
      {".gif", "image/gif"}, {".jpg", "image/jpeg"},    {".jpeg", "image/jpeg"}, {".png", "image/png"},
      {".svg", "image/svg+xml"}, {".txt", "text/plain"}, {".htm", "text/html"},  {".html", "text/html"},
      {".pdf", "application/pdf"}, {".xml", "application/xml"}};
  size_t n = strlen(name), i;
  for (i = 0; i < sizeof map / sizeof map[0]; i++) {
    size_t k = strlen(map[i][0]), j;
    if (n < k) continue;
    for (j = 0; j < k; j++) {
      char c = name[n - k + j];
      if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != map[i][0][j]) break;
    }
    if (j == k) return map[i][1];
  }
  return NULL;
}

/* The last component of a path ('/' or, on Windows, '\\' separate). */
static const char *base_name(const char *path) {
  const char *b = path, *p;
  for (p = path; *p; p++)
    if (*p == '/' || (VN_BACKSLASH_SEPARATES && *p == '\\')) b = p + 1;
  return b;
}

static int add(vn_buffer *b, const char *s, size_t n) { return vn_buffer_add(b, s, n); }
#define ADDS(b, lit) add((b), (lit), sizeof(lit) - 1)

/* A file name from a path goes inside quotes as curl_mime writes it there:
 * '"', CR and LF as %22, %0D, %0A (a name given as filename= has none). */
static int add_escaped(vn_buffer *b, const char *s) {
  for (; *s; s++) {
    int ok = *s == '"' ? ADDS(b, "%22") : *s == '\r' ? ADDS(b, "%0D") : *s == '\n' ? ADDS(b, "%0A") : add(b, s, 1);
    if (!ok) return 0;
  }
  return 1;
}

/* "--boundary\r\nContent-Disposition: form-data; name=\"name\"" */
static int open_part(vn_form *f, const char *name, size_t n) {
  return ADDS(&f->mem, "--") && add(&f->mem, f->boundary, VN_BOUNDARY_LEN) && ADDS(&f->mem, CRLF DISPOSITION) &&
         add(&f->mem, name, n) && ADDS(&f->mem, "\"");
}

/* The first failure of a file: its message, allocated only when there is
 * one (see sink.c); the transfer is not sent, or aborted. */
static void fail(vn_form *f, const char *path, const char *why) {
  size_t n = strlen(path) + strlen(why) + 16;
  if (f->fd >= 0) vn_read_close(f->fd);
  f->fd = -1;
  if (f->failed) return;
  f->failed = 1;
  f->error = (char *)malloc(n);
  if (f->error) snprintf(f->error, n, "reading '%s': %s", path, why);
}

static void add_file(lua_State *L, vn_form *f, const char *path, int i) {
  vn_fileinfo fi;
  char why[160];
  size_t n = strlen(path);
  char *copy;
  int err = vn_stat(path, &fi, why, sizeof why);
  if (err || fi.type != VN_FT_FILE) {
    /* the file system, not misuse (the Lua layer checked the file before):
     * the transfer ends at start, unsent, saying so */
    if (err)
      vn_strerror(err, why, sizeof why);
    else
      snprintf(why, sizeof why, "not a regular file");
    fail(f, path, why);
    return;
  }
  if (f->nfiles == f->capfiles) {
    size_t cap = f->capfiles ? f->capfiles * 2 : 2;
    vn_form_file *d = (vn_form_file *)realloc(f->files, cap * sizeof *d);
    if (!d) {
      oom(L, i);
      return;
    }
    f->files = d;
    f->capfiles = cap;
  }
  copy = (char *)malloc(n + 1);
  if (!copy) {
    oom(L, i);
    return;
  }
  memcpy(copy, path, n + 1);
  f->files[f->nfiles].path = copy;
  f->files[f->nfiles].size = (curl_off_t)fi.size;
  f->files[f->nfiles].mem_at = f->mem.len;
  f->nfiles++;
  f->total += (curl_off_t)fi.size;
}

static void add_part(lua_State *L, vn_form *f, int t, int arg, int i) {
  size_t nlen, vlen = 0, flen = 0, dlen = 0;
  const char *name, *value, *file, *data, *filename, *type, *derived = NULL;
  int base = lua_gettop(L), ok;
  luaL_checkstack(L, 8, "parts");
  name = header_text(L, t, "name", arg, i, 1);
  nlen = strlen(name);
  value = bytes_field(L, t, "value", arg, i, &vlen);
  file = bytes_field(L, t, "file", arg, i, &flen);
  data = bytes_field(L, t, "data", arg, i, &dlen);
  filename = header_text(L, t, "filename", arg, i, 0);
  type = header_text(L, t, "type", arg, i, 0);
  if ((value != NULL) + (file != NULL) + (data != NULL) != 1)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: exactly one of value=, file= or data= expected", i));
  if (file && memchr(file, '\0', flen)) luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].file: contains NUL", i));
  if (value && (filename || type))
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: filename= and type= go with file= or data=", i));

  /* curl_mime's choices: a file is named by its path's last component and
   * typed by its name's extension, else application/octet-stream; data is
   * typed by its filename= only; text/plain is left out where no file name
   * is sent; a type= given is sent as it is */
  if (file && !filename) derived = base_name(file);
  if (!type) {
    type = type_of_name(filename ? filename : derived ? derived : "");
    if (!type && file) type = type_of_name(file);
    if (!type && file) type = "application/octet-stream";
  }
  ok = open_part(f, name, nlen);
  if (ok && (filename || derived))
    ok = ADDS(&f->mem, "; filename=\"") && (filename ? vn_buffer_adds(&f->mem, filename) : add_escaped(&f->mem, derived)) &&
         ADDS(&f->mem, "\"");
  if (ok && type) ok = ADDS(&f->mem, CRLF "Content-Type: ") && vn_buffer_adds(&f->mem, type);
  ok = ok && ADDS(&f->mem, CRLF CRLF);
  if (ok && value) ok = add(&f->mem, value, vlen);
  if (ok && data) ok = add(&f->mem, data, dlen);
  if (!ok) oom(L, i);
  if (file) add_file(L, f, file, i);
  if (!ADDS(&f->mem, CRLF)) oom(L, i);
  lua_settop(L, base);
}

/* parts[i] is a string: the name of a text part whose value is parts[i+1]
 * (the name at -1). */
static void add_pair(lua_State *L, vn_form *f, int parts, int arg, int i, lua_Integer n) {
  size_t nlen, vlen;
  const char *name = lua_tolstring(L, -1, &nlen), *value;
  if (!header_safe(name, nlen))
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: a name contains CR, LF, NUL or '\"'", i));
  if (i + 1 > n) luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: a name string needs its value after it", i));
  lua_rawgeti(L, parts, i + 1);
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: string value expected, got %s", i + 1, luaL_typename(L, -1)));
  value = lua_tolstring(L, -1, &vlen);
  if (!(open_part(f, name, nlen) && ADDS(&f->mem, CRLF CRLF) && add(&f->mem, value, vlen) && ADDS(&f->mem, CRLF)))
    oom(L, i);
  lua_pop(L, 1);
}

/* splitmix64: a new boundary per body from the client's state (seeded by
 * the system's random source), so that no two bodies share one. */
static unsigned long long next_random(unsigned long long *state) {
  unsigned long long z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void vn_form_init(vn_form *f) {
  memset(f, 0, sizeof *f);
  f->fd = -1;
}

void vn_form_build(lua_State *L, int parts, int arg, vn_form *f, unsigned long long *random_state) {
  static const char hex[] = "0123456789abcdef";
  lua_Integer i, n;
  size_t k;
  parts = parts < 0 ? lua_gettop(L) + parts + 1 : parts;
  if (lua_type(L, parts) != LUA_TTABLE) luaL_argerror(L, arg, "parts: table expected");
  n = (lua_Integer)lua_rawlen(L, parts);
  if (n > 10000) luaL_argerror(L, arg, "parts: at most 10000 parts");
  luaL_checkstack(L, 4, "parts");
  /* 128 random bits as 32 hex digits after 8 dashes */
  memset(f->boundary, '-', 8);
  for (k = 0; k < 2; k++) {
    unsigned long long r = next_random(random_state);
    int j;
    for (j = 0; j < 16; j++, r >>= 4) f->boundary[8 + 16 * k + (size_t)j] = hex[r & 15];
  }
  memcpy(f->header, CONTENT_TYPE_LINE, sizeof CONTENT_TYPE_LINE - 1);
  memcpy(f->header + sizeof CONTENT_TYPE_LINE - 1, f->boundary, VN_BOUNDARY_LEN);
  f->header[sizeof CONTENT_TYPE_LINE - 1 + VN_BOUNDARY_LEN] = '\0';
  if (!vn_buffer_reserve(&f->mem, 1000)) oom(L, 1); /* the usual text parts: one allocation */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, parts, (int)i);
    if (lua_type(L, -1) == LUA_TSTRING) {
      add_pair(L, f, parts, arg, (int)i, n);
      lua_pop(L, 1);
      i++;
      continue;
    }
    if (lua_type(L, -1) != LUA_TTABLE)
      luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: table expected, got %s", (int)i, luaL_typename(L, -1)));
    add_part(L, f, lua_gettop(L), arg, (int)i);
    lua_pop(L, 1);
  }
  if (!(ADDS(&f->mem, "--") && add(&f->mem, f->boundary, VN_BOUNDARY_LEN) && ADDS(&f->mem, "--" CRLF))) oom(L, 1);
  f->total += (curl_off_t)f->mem.len;
}

/* ---- reading, while libcurl sends (files only) */

/* Segment s: 2k is the memory before file k (after file k-1), 2k+1 file k. */
static curl_off_t segment_size(const vn_form *f, size_t s) {
  size_t k = s / 2, from, to;
  if (s % 2) return f->files[k].size;
  from = k == 0 ? 0 : f->files[k - 1].mem_at;
  to = k < f->nfiles ? f->files[k].mem_at : f->mem.len;
  return (curl_off_t)(to - from);
}

static void close_file(vn_form *f) {
  if (f->fd >= 0) vn_read_close(f->fd);
  f->fd = -1;
}

size_t vn_form_read(char *buf, size_t size, size_t nitems, void *ud) {
  vn_form *f = (vn_form *)ud;
  size_t room = size * nitems, got = 0;
  if (f->failed) return CURL_READFUNC_ABORT;
  while (got < room && f->seg <= 2 * f->nfiles) {
    curl_off_t left = segment_size(f, f->seg) - f->seg_off;
    size_t want = (curl_off_t)(room - got) < left ? room - got : (size_t)left;
    if (want == 0) {
      close_file(f);
      f->seg++;
      f->seg_off = 0;
      continue;
    }
    if (f->seg % 2 == 0) {
      size_t from = f->seg == 0 ? 0 : f->files[f->seg / 2 - 1].mem_at;
      memcpy(buf + got, f->mem.data + from + (size_t)f->seg_off, want);
    } else {
      const vn_form_file *file = &f->files[f->seg / 2];
      char why[160];
      long r;
      int err;
      if (f->fd < 0) {
        if ((err = vn_read_open(file->path, &f->fd)) != 0 || (f->seg_off && (err = vn_read_seek(f->fd, f->seg_off)))) {
          vn_strerror(err, why, sizeof why);
          fail(f, file->path, why);
          return CURL_READFUNC_ABORT;
        }
      }
      r = vn_read(f->fd, buf + got, want, &err);
      if (r < 0) {
        vn_strerror(err, why, sizeof why);
        fail(f, file->path, why);
        return CURL_READFUNC_ABORT;
      }
      if (r == 0) {
        fail(f, file->path, "the file became shorter while it was sent");
        return CURL_READFUNC_ABORT;
      }
      want = (size_t)r;
    }
    got += want;
    f->seg_off += (curl_off_t)want;
  }
  return got;
}

int vn_form_seek(void *ud, curl_off_t offset, int origin) {
  vn_form *f = (vn_form *)ud;
  size_t s;
  if (origin != SEEK_SET || offset < 0 || offset > f->total) return CURL_SEEKFUNC_CANTSEEK;
  close_file(f);
  for (s = 0; s < 2 * f->nfiles && offset >= segment_size(f, s); s++) offset -= segment_size(f, s);
  f->seg = s;
  f->seg_off = offset;
  return CURL_SEEKFUNC_OK;
}

char *vn_form_take_error(vn_form *f) {
  char *e = f->error;
  f->error = NULL;
  return e;
}

void vn_form_free(vn_form *f) {
  size_t i;
  close_file(f);
  for (i = 0; i < f->nfiles; i++) free(f->files[i].path);
  free(f->files);
  vn_buffer_free(&f->mem);
  free(f->error);
  vn_form_init(f);
}
