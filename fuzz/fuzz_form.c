/*
 * libFuzzer harness for src/form.c: a parts list, derived from the input,
 * goes through vn_form_build into a curl_mime made by curl_mime_init(easy),
 * which is then freed -- as c:start does it.
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
 * the rules written here from docs/architecture.md says the list is valid;
 * the stack is as it was; a failure is a Lua error with a message.
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
        if (memchr(s, '\0', n) || stat(s, &st) != 0 || access(s, R_OK) != 0) valid = 0;
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
  curl_mime *mime = (curl_mime *)lua_touserdata(L, 2);
  vn_form_build(L, 1, 2, mime);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static CURL *easy;
  lua_State *L = vn_fuzz_state();
  vn_reader rd = {data, size};
  int base = lua_gettop(L), n, i, valid = 1, st;
  curl_mime *mime;
  make_files();
  if (!easy && !(easy = curl_easy_init())) abort();
  mime = curl_mime_init(easy);
  if (!mime) abort();
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
  lua_pushlightuserdata(L, mime);
  st = lua_pcall(L, 2, 0, 0);
  if (getenv("VINANO_FUZZ_VERBOSE")) fprintf(stderr, "model %s, build: %s\n", valid ? "valid" : "invalid",
                                             st == LUA_OK ? "ok" : lua_tostring(L, -1));
  VN_CHECK(lua_gettop(L) == base + (st == LUA_OK ? 0 : 1), "stack balance");
  if (st != LUA_OK) VN_CHECK(lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0, "an error message");
  VN_CHECK((st == LUA_OK) == valid, "the builder and the model disagree");
  curl_mime_free(mime);
  vn_fuzz_end_input(L, base);
  return 0;
}
