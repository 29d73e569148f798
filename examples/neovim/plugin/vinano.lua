-- :VinanoGenerate {prompt}: generates an image through vinano.async (the luv
-- adapter drives it from Neovim's own loop, so the editor never blocks) and
-- saves it under the output directory.  Configure with
-- require("vinano_nvim").setup{ token=, base_url=, output_dir= }.
if vim.g.loaded_vinano then return end
vim.g.loaded_vinano = true

vim.api.nvim_create_user_command("VinanoGenerate", function(cmd)
  require("vinano_nvim").generate(cmd.args)
end, { nargs = "+", desc = "Generate an image with ViNano" })
