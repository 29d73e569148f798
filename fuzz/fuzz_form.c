/*
 * libFuzzer harness for src/form.c: a parts list, derived from the input,
 * goes through vn_form_build into a multipart body, which is then read
 * back as libcurl reads it (vn_form_read, in pieces of any size, with a
 * vn_form_seek now and then) and freed -- as c:start and the transfer do.
 *
 * Each part is a table (or, now and then, a name string -- a text part is
 * two entries, the name then the value string --, a number or a "proxy"
 * table whose fields come from an __index function that runs a full
 * collection and returns fresh strings: the builder reads with rawget, so a
 * proxy has no fields) with fields name, value, file, data, filename, type
 * set to strings of any bytes, paths (a real file, a folder, a missing one,
 * a name with NUL), or values of the wrong type.
 *
 * Checks (abort on failure): vn_form_build succeeds exactly when a model of
 * the rules written here from docs/architecture.md says the list is valid,
 * and marks the body failed (with a message) exactly when a file part names
 * a missing file or a folder;
 * the stack is as it was; a failure is a Lua error with a message; a body
 * built is total bytes long, read back the same whatever the pieces and
 * seeks, and splits at its boundary into the parts given, in order, each
 * with its name and its bytes (a file's from disk).
 */
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char good_file[300], folder[300];

static void make_files(void) {
  const char *base = getenv("TMPDIR");
  char dir[256];
  FILE *fp;
  if (good_file[0]) return;
  snprintf(dir, sizeof dir, "%s/vinano-fuzz-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(dir)) abort();
  snprintf(good_file, sizeof good_file, "%s/small.png", dir);
  fp = fopen(good_file, "wb");
  if (!fp) abort();
  fputs("\x89PNG\r\n\x1a\n", fp);
  fclose(fp);
  snprintf(folder, sizeof folder, "%s/dir", dir);
  mkdir(folder, 0700);
}

static int proxy_index(lua_State *L) {
  lua_gc(L, LUA_GCCOLLECT, 0);
  lua_pushfstring(L, "fresh-%s", lua_tostring(L, 2));
  return 1;
}

static const char *const keys[] = {"name", "value", "file", "data", "filename", "type"};

/* A part of this input names a file that is missing or not a regular file. */
static int bad_file;

/* The model: is this field value acceptable? */
static int header_ok(const char *s, size_t n) {
  return !memchr(s, '\0', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n) && !memchr(s, '"', n);
}

/* Pushes one part and says whether the model accepts it (-1: a string,
 * judged with its neighbours). */
static int push_part(lua_State *L, vn_reader *rd) {
  unsigned b = vn_byte(rd), mask, i;
  int valid = 1, sources = 0, has_value = 0, has_extra = 0;
  if (b % 16 == 0) {
    lua_pushinteger(L, b);
    return 0;
  }
  if (b % 16 == 2 || b % 16 == 3) { /* a bare string: a name, or a value after one */
    vn_push_bytes(L, rd, 40);
    return -1;
  }
  if (b % 16 == 1) { /* proxy: rawget sees no name */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, proxy_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    return 0;
  }
  lua_createtable(L, 0, 6);
  mask = vn_byte(rd);
  for (i = 0; i < 6; i++) {
    unsigned kind;
    size_t n;
    const char *s;
    if (!(mask & (1u << i)) && !(i == 0 && (mask & 0xc0) != 0xc0)) continue; /* usually a name */
    kind = vn_byte(rd) % 8;
    if (kind == 0) {
      lua_pushboolean(L, 1);
      valid = 0;
    } else if (i == 2 && kind < 4) {
      lua_pushstring(L, kind == 1 ? good_file : kind == 2 ? folder : "/nonexistent/x");
    } else {
      vn_push_bytes(L, rd, 40);
    }
    lua_setfield(L, -2, keys[i]);
    lua_getfield(L, -1, keys[i]);
    s = lua_tolstring(L, -1, &n);
    if (lua_type(L, -1) == LUA_TSTRING) {
      if ((i == 0 || i == 4 || i == 5) && !header_ok(s, n)) valid = 0;
      if (i == 2) {
        struct stat st;
        if (memchr(s, '\0', n))
          valid = 0;
        else if (stat(s, &st) != 0 || !S_ISREG(st.st_mode))
          bad_file = 1; /* not misuse: the body says it failed */
      }
      if (i >= 1 && i <= 3) sources++;
      if (i == 1) has_value = 1;
      if (i >= 4) has_extra = 1;
    }
    lua_pop(L, 1);
  }
  lua_getfield(L, -1, "name");
  if (lua_type(L, -1) != LUA_TSTRING) valid = 0;
  lua_pop(L, 1);
  if (sources != 1 || (has_value && has_extra)) valid = 0;
  return valid;
}

static int build(lua_State *L) {
  vn_form *form = (vn_form *)lua_touserdata(L, 2);
  static unsigned long long state = 42;
  vn_form_build(L, 1, 2, form, &state);
  return 0;
}

#define FILE_BYTES "\x89PNG\r\n\x1a\n"

/* Part i's name and bytes as the list at idx gives them (the list is
 * valid); *next is the index of the part after it. */
static void expected_part(lua_State *L, int idx, int i, int *next, const char **name, size_t *nlen,
                          const char **bytes, size_t *blen) {
  lua_rawgeti(L, idx, i);
  if (lua_type(L, -1) == LUA_TSTRING) {
    *name = lua_tolstring(L, -1, nlen);
    lua_rawgeti(L, idx, i + 1);
    *bytes = lua_tolstring(L, -1, blen);
    lua_pop(L, 2); /* both stay in the list */
    *next = i + 2;
    return;
  }
  lua_getfield(L, -1, "name");
  *name = lua_tolstring(L, -1, nlen);
  lua_pop(L, 1);
  *bytes = NULL;
  lua_getfield(L, -1, "value");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, -1, "data");
  }
  if (!lua_isnil(L, -1)) *bytes = lua_tolstring(L, -1, blen);
  lua_pop(L, 2);
  if (!*bytes) { /* a file: the only real one is good_file */
    *bytes = FILE_BYTES;
    *blen = sizeof FILE_BYTES - 1;
  }
  *next = i + 1;
}

static const char *find(const char *h, size_t hn, const char *n, size_t nn) {
  size_t i;
  for (i = 0; nn <= hn && i <= hn - nn; i++)
    if (memcmp(h + i, n, nn) == 0) return h + i;
  return NULL;
}

/* The body read back whole, in pieces whose sizes come from the input. */
static char *read_all(vn_form *f, vn_reader *rd, size_t *len) {
  char *out = (char *)malloc((size_t)f->total + 1);
  size_t got = 0;
  VN_CHECK(out != NULL, "memory");
  for (;;) {
    size_t want = 1 + vn_byte(rd) % 97, r;
    if (got + want > (size_t)f->total + 1) want = (size_t)f->total + 1 - got;
    r = vn_form_read(out + got, 1, want, f);
    VN_CHECK(r != CURL_READFUNC_ABORT && r <= want, "a read");
    if (r == 0) break;
    got += r;
  }
  *len = got;
  return out;
}

/* The body splits at its boundary into the parts of the list, in order. */
static void check_body(lua_State *L, int list, vn_form *f, vn_reader *rd) {
  char delim[2 + VN_BOUNDARY_LEN + 2], *body, *again;
  size_t len, len2, dn, at;
  const char *p, *end;
  int i = 1, n = (int)lua_rawlen(L, list), k;
  body = read_all(f, rd, &len);
  VN_CHECK(len == (size_t)f->total, "the body is total bytes long");
  /* a seek, then the rest: the same bytes */
  at = len ? vn_byte(rd) % (len + 1) : 0;
  VN_CHECK(vn_form_seek(f, (curl_off_t)at, SEEK_SET) == CURL_SEEKFUNC_OK, "a seek");
  again = read_all(f, rd, &len2);
  VN_CHECK(len2 == len - at && memcmp(again, body + at, len2) == 0, "the rest after a seek");
  free(again);
  VN_CHECK(vn_form_seek(f, (curl_off_t)len + 1, SEEK_SET) == CURL_SEEKFUNC_CANTSEEK, "no seek past the end");
  VN_CHECK(memcmp(f->header, "Content-Type: multipart/form-data; boundary=", 44) == 0 &&
               memcmp(f->header + 44, f->boundary, VN_BOUNDARY_LEN) == 0 && f->header[44 + VN_BOUNDARY_LEN] == 0,
           "the Content-Type line");
  memcpy(delim, "\r\n--", 4);
  memcpy(delim + 4, f->boundary, VN_BOUNDARY_LEN);
  dn = 4 + VN_BOUNDARY_LEN;
  VN_CHECK(len >= dn - 2 && memcmp(body, delim + 2, dn - 2) == 0, "the opening boundary");
  p = body + dn - 2;
  end = body + len;
  for (k = 0; i <= n; k++) {
    const char *name, *bytes, *hdr_end, *next;
    size_t nlen, blen;
    char disp[64 + 200];
    int nx, dl;
    expected_part(L, list, i, &nx, &name, &nlen, &bytes, &blen);
    VN_CHECK(end - p >= 2 && memcmp(p, "\r\n", 2) == 0, "a part after its boundary line");
    p += 2;
    hdr_end = find(p, (size_t)(end - p), "\r\n\r\n", 4);
    VN_CHECK(hdr_end != NULL, "a part's header ends");
    dl = snprintf(disp, sizeof disp, "Content-Disposition: form-data; name=\"%.*s\"", (int)nlen, name);
    VN_CHECK((size_t)(hdr_end - p) >= (size_t)dl && memcmp(p, disp, (size_t)dl) == 0, "the part's name");
    p = hdr_end + 4;
    next = find(p, (size_t)(end - p), delim, dn);
    VN_CHECK(next != NULL, "a boundary after the part");
    VN_CHECK((size_t)(next - p) == blen && memcmp(p, bytes, blen) == 0, "the part's bytes");
    p = next + dn;
    i = nx;
  }
  VN_CHECK(end - p == 4 && memcmp(p, "--\r\n", 4) == 0, "the closing boundary, then nothing");
  free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = vn_fuzz_state();
  vn_reader rd = {data, size};
  int base = lua_gettop(L), n, i, valid = 1, st;
  vn_form form;
  make_files();
  vn_form_init(&form);
  bad_file = 0;
  n = (int)(vn_byte(&rd) % 8);
  lua_pushcfunction(L, build);
  if (vn_byte(&rd) % 32 == 0) {
    lua_pushstring(L, "not a list");
    valid = 0;
  } else {
    int ok[8];
    lua_createtable(L, n, 0);
    for (i = 1; i <= n; i++) {
      ok[i - 1] = push_part(L, &rd);
      lua_rawseti(L, -2, i);
    }
    /* the model of the list: a string is a name whose value (a string) comes next */
    for (i = 1; i <= n; i++) {
      if (ok[i - 1] >= 0) {
        if (!ok[i - 1]) valid = 0;
        continue;
      }
      {
        size_t len;
        const char *s;
        lua_rawgeti(L, -1, i);
        s = lua_tolstring(L, -1, &len);
        if (!header_ok(s, len) || i == n || ok[i] != -1) valid = 0;
        lua_pop(L, 1);
        i++; /* the value: any bytes */
      }
    }
  }
  lua_pushvalue(L, -1); /* the list, kept below the call for the checks */
  lua_insert(L, base + 1);
  lua_pushlightuserdata(L, &form);
  st = lua_pcall(L, 2, 0, 0);
  if (getenv("VINANO_FUZZ_VERBOSE")) fprintf(stderr, "model %s, build: %s\n", valid ? "valid" : "invalid",
                                             st == LUA_OK ? "ok" : lua_tostring(L, -1));
  VN_CHECK(lua_gettop(L) == base + 1 + (st == LUA_OK ? 0 : 1), "stack balance");
  if (st != LUA_OK) VN_CHECK(lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0, "an error message");
  VN_CHECK((st == LUA_OK) == valid, "the builder and the model disagree");
  if (st == LUA_OK) VN_CHECK(form.failed == bad_file, "a bad file fails the body, nothing else does");
  if (st == LUA_OK && form.failed) VN_CHECK(form.error && strncmp(form.error, "reading '", 9) == 0, "its message");
  if (st == LUA_OK && !form.failed) check_body(L, base + 1, &form, &rd);
  vn_form_free(&form);
  vn_fuzz_end_input(L, base);
  return 0;
}
