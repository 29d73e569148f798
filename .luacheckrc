std = "max"
max_line_length = 120
-- LuaCATS annotations (---@field name fun(...): ...) may be longer
max_comment_line_length = false
files["spec/"] = { std = "+busted" }
files["mock/spec/"] = { std = "+busted" }
files["examples/neovim/"] = { globals = { "vim" } }
files["spec/nvim/"] = { globals = { "vim" } }
files["examples/love/"] = { globals = { "love" } }
exclude_files = { "build/" }
