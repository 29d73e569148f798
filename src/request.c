/*
 * The request userdata: one transfer from start to result.  In flight it is
 * anchored in the registry (so dropping it cannot free what libcurl still
 * writes into); once done the anchor is released and the response waits in
 * C until result() turns it into Lua values, once.
 */
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

static const char *const state_names[] = {"idle", "running", "done", "closed"};

vn_request *vn_request_create(lua_State *L) {
  vn_request *r = (vn_request *)lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  r->self_ref = LUA_NOREF;
  r->result_ref = LUA_NOREF;
  r->state = VN_IDLE;
  luaL_setmetatable(L, VN_REQUEST_MT);
  return r;
}

static void detach(vn_request *r) {
  vn_client *c = r->client;
  if (!c) return;
  if (r->prev)
    r->prev->next = r->next;
  else if (c->attached == r)
    c->attached = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

/* Called once the multi handle reports the transfer over. */
void vn_request_finish(lua_State *L, vn_request *r) {
  vn_client *c = r->client;
  curl_multi_remove_handle(c->multi, r->easy);
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
  if (r->op == VN_OP_DOWNLOAD) vn_download_finish(r);
  r->state = VN_DONE;
  c->running--;
  if (!r->sync) {
    /* queued for the next step(), which hands it to whoever waits on it */
    if (c->finished_ref == LUA_NOREF) {
      lua_newtable(L);
      c->finished_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->finished_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->self_ref);
    lua_rawseti(L, -2, (int)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
  }
  luaL_unref(L, LUA_REGISTRYINDEX, r->self_ref);
  r->self_ref = LUA_NOREF;
}

/* Gives back the easy handle and the buffers; the result table stays. */
static void release_transfer(vn_request *r) {
  if (r->easy) {
    detach(r);
    vn_client_release_easy(r->client, r->easy);
    r->easy = NULL;
  }
  r->client = NULL;
  curl_mime_free(r->mime);
  r->mime = NULL;
  free(r->body.data);
  memset(&r->body, 0, sizeof r->body);
  free(r->head.data);
  memset(&r->head, 0, sizeof r->head);
}

static void cancel(lua_State *L, vn_request *r) {
  if (r->state != VN_RUNNING) return;
  curl_multi_remove_handle(r->client->multi, r->easy);
  r->client->running--;
  r->state = VN_DONE;
  r->cancelled = 1;
  vn_download_abort(r);
  luaL_unref(L, LUA_REGISTRYINDEX, r->self_ref);
  r->self_ref = LUA_NOREF;
}

void vn_request_close(lua_State *L, vn_request *r) {
  cancel(L, r);
  release_transfer(r);
  vn_download_abort(r);
  free(r->path);
  r->path = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, r->result_ref);
  r->result_ref = LUA_NOREF;
  r->state = VN_CLOSED;
}

/* Pushes res, err, info; computed on the first call and kept. */
int vn_request_push_result(lua_State *L, vn_request *r) {
  if (r->result_ref == LUA_NOREF) {
    vn_response_push(L, r);
    lua_createtable(L, 3, 0);
    lua_pushvalue(L, -4);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, -3);
    lua_rawseti(L, -2, 2);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, 3);
    r->result_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    release_transfer(r);
    return 3;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->result_ref);
  lua_rawgeti(L, -1, 1);
  lua_rawgeti(L, -2, 2);
  lua_rawgeti(L, -3, 3);
  return 3;
}

static vn_request *check_request(lua_State *L) {
  return (vn_request *)luaL_checkudata(L, 1, VN_REQUEST_MT);
}

static int req_result(lua_State *L) {
  vn_request *r = check_request(L);
  if (r->state == VN_RUNNING) return luaL_error(L, "vinano: request still in flight (step the client until done)");
  if (r->state == VN_CLOSED && r->result_ref == LUA_NOREF) return luaL_error(L, "vinano: request closed");
  return vn_request_push_result(L, r);
}

static int req_cancel(lua_State *L) {
  vn_request *r = check_request(L);
  int was_running = r->state == VN_RUNNING;
  cancel(L, r);
  lua_pushboolean(L, was_running);
  return 1;
}

static int req_done(lua_State *L) {
  vn_request *r = check_request(L);
  lua_pushboolean(L, r->state == VN_DONE || r->state == VN_CLOSED);
  return 1;
}

static int req_state(lua_State *L) {
  lua_pushstring(L, state_names[check_request(L)->state]);
  return 1;
}

/* sent, total_up, received, total_down: counters libcurl's callback filled */
static int req_progress(lua_State *L) {
  vn_request *r = check_request(L);
  lua_pushnumber(L, (lua_Number)r->up_now);
  lua_pushnumber(L, (lua_Number)r->up_total);
  lua_pushnumber(L, (lua_Number)r->down_now);
  lua_pushnumber(L, (lua_Number)r->down_total);
  return 4;
}

static int req_close(lua_State *L) {
  vn_request_close(L, check_request(L));
  return 0;
}

static int req_tostring(lua_State *L) {
  vn_request *r = check_request(L);
  static const char *const ops[] = {"generate", "submit", "poll", "download"};
  lua_pushfstring(L, "vinano.request (%s, %s)", ops[r->op], state_names[r->state]);
  return 1;
}

void vn_request_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"result", req_result}, {"cancel", req_cancel},     {"done", req_done},
                                     {"state", req_state},   {"progress", req_progress}, {"close", req_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__gc", req_close}, {"__close", req_close}, {"__tostring", req_tostring}, {NULL, NULL}};
  luaL_newmetatable(L, VN_REQUEST_MT);
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
