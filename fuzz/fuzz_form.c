/*
 * libFuzzer harness for src/form.c: a Lua params table, derived from the
 * input, goes through vn_form_build into a curl_mime made by
 * curl_mime_init(easy), which is then freed -- as client:start does it.
 *
 * The input is a small program (see fuzz/README.md for the byte format):
 * each step sets one key of the params table -- a known field (prompt,
 * image, imageUrl, ...), a near miss ("Prompt", "image "), an arbitrary
 * string key or an integer key -- to a value built from the following
 * bytes: strings with any bytes, booleans, integers, floats (NaN, inf, -0),
 * lists, nested tables, file paths (a real PNG, an empty file, a directory,
 * a sparse file just over the 100 MB limit, missing and over-long names),
 * {path=}, {data=, filename=, content_type=} with right and wrong types,
 * functions, cjson.null-like light userdata, and "proxy" tables whose
 * fields come from an __index function that runs a full garbage collection
 * and returns a freshly made string each time (Lua code may hand such
 * tables to the client; a C pointer to a string that is no longer anchored
 * on the stack dangles after that collection, and ASan sees the read).
 *
 * Checks (abort on failure): vn_form_build leaves the Lua stack as it found
 * it; a failure comes with a non-empty message that fits its buffer; a
 * success leaves the message buffer untouched.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

typedef struct reader {
  const uint8_t *p;
  size_t n;
  int budget; /* values left to build: bounds the work per input */
  int negative; /* pass params to vn_form_build as a negative index */
} reader;

static unsigned byte(reader *rd) {
  if (rd->n == 0) return 0;
  rd->n--;
  return *rd->p++;
}

static size_t take(reader *rd, size_t want, const uint8_t **out) {
  size_t n = want < rd->n ? want : rd->n;
  *out = rd->p;
  rd->p += n;
  rd->n -= n;
  return n;
}

static const char *const known_keys[] = {
    "prompt", "model", "aspectRatio", "googleSearch", "mode", "hdPro", "img_size", "image", "imageUrl",
    /* near misses: go through the pass-through loop for unknown fields */
    "Prompt", "", "image ", "imageURL", "images", "path", "data"};
#define NKNOWN (sizeof known_keys / sizeof known_keys[0])

static char tmpdir[256];
static char sparse_path[300];

/* Files the path values point at, made once per process under $TMPDIR. */
static void make_files(void) {
  const char *base = getenv("TMPDIR");
  char path[400];
  FILE *fp;
  int fd;
  static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  if (tmpdir[0]) return;
  snprintf(tmpdir, sizeof tmpdir, "%s/vinano-fuzz-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir)) {
    perror("vinano fuzz: mkdtemp");
    abort();
  }
  snprintf(path, sizeof path, "%s/small.png", tmpdir);
  fp = fopen(path, "wb");
  if (!fp) abort();
  fwrite(png, 1, sizeof png, fp);
  fclose(fp);
  snprintf(path, sizeof path, "%s/empty", tmpdir);
  fp = fopen(path, "wb");
  if (!fp) abort();
  fclose(fp);
  snprintf(path, sizeof path, "%s/dir", tmpdir);
  mkdir(path, 0700);
  /* sparse: 100 MB + 1 byte without using the disk; only stat() sees it */
  snprintf(sparse_path, sizeof sparse_path, "%s/big.bin", tmpdir);
  fd = open(sparse_path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)VN_MAX_FILE_BYTES + 1) != 0) abort();
  close(fd);
}

static void remove_files(void) {
  char path[400];
  static const char *const names[] = {"small.png", "empty", "big.bin", NULL};
  int i;
  if (!tmpdir[0]) return;
  for (i = 0; names[i]; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/dir", tmpdir);
  rmdir(path);
  rmdir(tmpdir);
}

/* Pushes a path: one of the prepared files, a missing one, an over-long
 * one, or a name from the input (with '/' replaced, so it stays in tmpdir). */
static void push_path(lua_State *L, reader *rd) {
  unsigned b = byte(rd);
  switch (b % 8) {
    case 0:
    case 1: lua_pushfstring(L, "%s/small.png", tmpdir); break;
    case 2: lua_pushfstring(L, "%s/empty", tmpdir); break;
    case 3: lua_pushfstring(L, "%s/dir", tmpdir); break;
    case 4: lua_pushstring(L, sparse_path); break;
    case 5: {
      luaL_Buffer buf;
      int i;
      luaL_buffinit(L, &buf);
      luaL_addstring(&buf, tmpdir);
      luaL_addchar(&buf, '/');
      for (i = 0; i < 40 + (int)(b >> 3) * 40; i++) luaL_addchar(&buf, 'a'); /* up to 1280: ENAMETOOLONG */
      luaL_pushresult(&buf);
      break;
    }
    case 6: lua_pushstring(L, ""); break;
    default: {
      const uint8_t *s;
      size_t n = take(rd, byte(rd) % 48, &s), i;
      luaL_Buffer buf;
      luaL_buffinit(L, &buf);
      luaL_addstring(&buf, tmpdir);
      luaL_addstring(&buf, "/x-");
      for (i = 0; i < n; i++) luaL_addchar(&buf, s[i] == '/' ? '_' : (char)s[i]);
      luaL_pushresult(&buf);
    }
  }
}

static void push_bytes(lua_State *L, reader *rd, unsigned max) {
  const uint8_t *s;
  size_t n = take(rd, byte(rd) % max, &s);
  lua_pushlstring(L, (const char *)s, n);
}

static int dummy_function(lua_State *L) {
  (void)L;
  return 0;
}

/* __index of a proxy table: a full GC, then the backing table's value, with
 * strings returned as new objects that nothing else references. */
static int proxy_index(lua_State *L) {
  lua_gc(L, LUA_GCCOLLECT, 0);
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len > 0 && s[0] == '\x01') lua_pushlstring(L, s + 1, len - 1); /* stored with a 1-byte prefix */
  }
  return 1;
}

/* The table at the top becomes a proxy: its fields move to a backing table
 * (strings stored with a prefix) read through proxy_index. */
static void make_proxy(lua_State *L) {
  int t = lua_gettop(L);
  lua_newtable(L); /* proxy */
  lua_newtable(L); /* metatable */
  lua_newtable(L); /* backing */
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushliteral(L, "\x01");
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_pushcclosure(L, proxy_index, 1);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_replace(L, t);
}

static void push_value(lua_State *L, reader *rd, int depth);

/* {path=} / {data=} with optional filename= and content_type=, sometimes
 * with wrong types or both/neither of path and data. */
static void push_file_table(lua_State *L, reader *rd, int depth) {
  unsigned b = byte(rd);
  lua_createtable(L, 0, 4);
  switch (b % 6) {
    case 0:
    case 1: push_path(L, rd); lua_setfield(L, -2, "path"); break;
    case 2:
    case 3: push_bytes(L, rd, 200); lua_setfield(L, -2, "data"); break;
    case 4: /* both */
      push_path(L, rd);
      lua_setfield(L, -2, "path");
      push_bytes(L, rd, 32);
      lua_setfield(L, -2, "data");
      break;
    default: /* anything, maybe the wrong type */
      push_value(L, rd, depth + 1);
      lua_setfield(L, -2, (b >> 3) & 1 ? "path" : "data");
  }
  if (b & 0x40) {
    if (b & 0x10)
      push_bytes(L, rd, 40);
    else
      push_value(L, rd, depth + 1);
    lua_setfield(L, -2, "filename");
  }
  if (b & 0x80) {
    if (b & 0x20)
      push_bytes(L, rd, 40);
    else
      push_value(L, rd, depth + 1);
    lua_setfield(L, -2, "content_type");
  }
}

static void push_value(lua_State *L, reader *rd, int depth) {
  unsigned b = byte(rd);
  luaL_checkstack(L, 8, "fuzz value");
  if (--rd->budget < 0 || depth > 5) b = 0; /* strings only from here on */
  switch (b % 16) {
    case 0: push_bytes(L, rd, 80); break;
    case 1: lua_pushboolean(L, (b >> 4) & 1); break;
    case 2: {
      const uint8_t *s;
      lua_Integer v = 0;
      size_t n = take(rd, 8, &s);
      memcpy(&v, s, n);
      lua_pushinteger(L, v);
      break;
    }
    case 3: {
      const uint8_t *s;
      double v = 0;
      size_t n = take(rd, 8, &s);
      memcpy(&v, s, n);
      lua_pushnumber(L, (lua_Number)v);
      break;
    }
    case 4: {
      static const double specials[] = {1.5, -0.0, 1e300, -1e-300, 9007199254740993.0, 0.1, 4.0, 1.0 / 3};
      lua_pushnumber(L, specials[(b >> 4) % 8]);
      break;
    }
    case 5: { /* a list */
      int i, n = (int)(byte(rd) % 6);
      lua_createtable(L, n, 0);
      for (i = 1; i <= n; i++) {
        push_value(L, rd, depth + 1);
        if (lua_isnil(L, -1)) lua_pop(L, 1); else lua_rawseti(L, -2, i);
      }
      break;
    }
    case 6:
    case 7: push_file_table(L, rd, depth); break;
    case 8: push_path(L, rd); break;
    case 9: { /* a list of files */
      int i, n = 1 + (int)(byte(rd) % 4);
      lua_createtable(L, n, 0);
      for (i = 1; i <= n; i++) {
        if (byte(rd) & 1)
          push_path(L, rd);
        else
          push_file_table(L, rd, depth + 1);
        lua_rawseti(L, -2, i);
      }
      break;
    }
    case 10:
      switch ((b >> 4) % 4) {
        case 0: lua_pushcfunction(L, dummy_function); break;
        case 1: lua_pushlightuserdata(L, NULL); break; /* what cjson.null is */
        case 2: lua_newuserdatauv(L, 8, 0); break;
        default: lua_pushthread(L);
      }
      break;
    case 11: { /* a proxy of a file table or list */
      if ((b >> 4) & 1)
        push_file_table(L, rd, depth + 1);
      else
        push_value(L, rd, depth + 1);
      if (lua_istable(L, -1)) make_proxy(L);
      break;
    }
    case 12: { /* a table with arbitrary keys */
      int i, n = (int)(byte(rd) % 4);
      lua_newtable(L);
      for (i = 0; i < n; i++) {
        push_bytes(L, rd, 12);
        push_value(L, rd, depth + 1);
        if (lua_isnil(L, -1)) lua_pop(L, 2); else lua_rawset(L, -3);
      }
      break;
    }
    case 13: lua_pushnil(L); break;
    case 14: /* a list with a hole, or a sparse one */
      lua_createtable(L, 4, 0);
      push_value(L, rd, depth + 1);
      lua_rawseti(L, -2, 1);
      push_value(L, rd, depth + 1);
      lua_rawseti(L, -2, (b >> 4) % 2 ? 3 : 1000000);
      break;
    default: { /* text likely to matter: long strings, NULs, UTF-8 */
      static const char *const texts[] = {"a beautiful sunset over the ocean", "16:9", "gemini-3.1-pro-image-preview",
                                          "4k", "true", "", "\xff\xfe", "line\r\nbreak"};
      if ((b >> 4) % 4 == 0) {
        luaL_Buffer buf;
        int i, n = 2000 + (int)byte(rd) * 16;
        luaL_buffinit(L, &buf);
        for (i = 0; i < n; i++) luaL_addchar(&buf, (char)('a' + i % 26));
        luaL_pushresult(&buf);
      } else if ((b >> 4) % 4 == 1) {
        lua_pushlstring(L, "nul\0inside", 10);
      } else {
        lua_pushstring(L, texts[byte(rd) % 8]);
      }
    }
  }
}

/* Builds the params table from the input program; pushes it. */
static void push_params(lua_State *L, reader *rd) {
  int steps = 1 + (int)(byte(rd) % 16), i;
  lua_newtable(L);
  for (i = 0; i < steps && rd->n > 0; i++) {
    unsigned b = byte(rd);
    switch (b % 4) {
      case 0:
      case 1: lua_pushstring(L, known_keys[byte(rd) % NKNOWN]); break;
      case 2: push_bytes(L, rd, 24); break;
      default: lua_pushinteger(L, 1 + (lua_Integer)(byte(rd) % 4));
    }
    push_value(L, rd, 0);
    if (lua_isnil(L, -1)) lua_pop(L, 2); else lua_rawset(L, -3);
  }
  if (rd->n > 0 && byte(rd) % 8 == 0) make_proxy(L); /* the params table itself behind __index */
}

static CURL *easy;

static int build(lua_State *L) {
  reader *rd = (reader *)lua_touserdata(L, 1);
  char msg[400];
  curl_mime *mime;
  int top, ok;
  size_t i;
  lua_settop(L, 0);
  push_params(L, rd);
  lua_pushinteger(L, 42); /* something above params, to catch index mix-ups */
  top = lua_gettop(L);
  memset(msg, 0x5a, sizeof msg);
  mime = curl_mime_init(easy);
  if (!mime) abort();
  /* negative index, as client.c may pass one */
  ok = vn_form_build(L, rd->negative ? -2 : 1, mime, msg, sizeof msg);
  VN_CHECK(lua_gettop(L) == top, "vn_form_build leaves the stack as it found it");
  VN_CHECK(lua_tointeger(L, -1) == 42 && lua_istable(L, 1), "vn_form_build leaves the stack values alone");
  if (ok) {
    for (i = 0; i < sizeof msg; i++) VN_CHECK((unsigned char)msg[i] == 0x5a, "no message written on success");
  } else {
    VN_CHECK(memchr(msg, '\0', sizeof msg) != NULL, "the message is NUL-terminated within its buffer");
    VN_CHECK(msg[0] != '\0', "a failure has a message");
  }
  if (getenv("VINANO_FUZZ_VERBOSE")) fprintf(stderr, "form: %s\n", ok ? "built" : msg);
  curl_mime_free(mime);
  return 0;
}

static void at_exit(void) {
  remove_files();
  if (easy) curl_easy_cleanup(easy);
  easy = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = vn_fuzz_state();
  int base = lua_gettop(L);
  reader rd;
  if (!easy) {
    make_files();
    easy = curl_easy_init();
    if (!easy) abort();
    atexit(at_exit);
  }
  rd.p = data;
  rd.n = size;
  rd.budget = 64;
  rd.negative = (int)(size & 1); /* parity picks the positive or the negative index */
  lua_pushcfunction(L, vn_fuzz_traceback);
  lua_pushcfunction(L, build);
  lua_pushlightuserdata(L, &rd);
  if (lua_pcall(L, 1, 0, base + 1) != LUA_OK) vn_fuzz_die(L, "building the params raised");
  vn_fuzz_end_input(L, base);
  return 0;
}
