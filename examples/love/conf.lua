-- LÖVE 11 configuration of the vinano example game.
-- luacheck: globals love
function love.conf(t)
  t.identity = "vinano-love" -- the save directory: <data dir>/love/vinano-love
  t.version = "11.0"
  t.console = false
  t.window.title = "vinano: LÖVE example"
  t.window.width = 640
  t.window.height = 400
  t.window.resizable = true
  t.window.vsync = 1
  -- No sound: the game needs none, and a machine without a sound card (CI,
  -- Xvfb) would only print ALSA/OpenAL noise.
  t.modules.audio = false
  t.modules.sound = false
  t.modules.joystick = false
  t.modules.physics = false
  t.modules.video = false
end
