-- vinano.batch.fs: the path operations of a batch, in POSIX and in Windows
-- style (drive letters, rooted and UNC paths, both slashes).  Windows itself
-- runs spec/windows/batch_wine.lua; here `fs.windows` picks the style.
local fs = require "vinano.batch.fs"

describe("vinano.batch.fs #nocore", function()
  local native = fs.windows
  after_each(function() fs.windows = native end)

  it("knows the platform's style from package.config", function()
    assert.are.equal(package.config:sub(1, 1) == "\\", fs.windows)
  end)

  it("POSIX: joins, keeps absolute paths, gives the folder", function()
    fs.windows = false
    assert.are.equal("out/a.png", fs.join("out", "a.png"))
    assert.are.equal("out/a.png", fs.join("out//", "a.png"))
    assert.are.equal("/abs/a.png", fs.join("out", "/abs/a.png"))
    assert.are.equal("a.png", fs.join(nil, "a.png"))
    assert.are.equal("a.png", fs.join(".", "a.png"))
    assert.are.equal("out/C:\\a.png", fs.join("out", "C:\\a.png")) -- a file name like any other here
    assert.are.equal("/m", fs.dirname("/m/jobs.jsonl"))
    assert.are.equal("/", fs.dirname("/jobs.jsonl"))
    assert.are.equal(".", fs.dirname("jobs.jsonl"))
    assert.are.equal(".", fs.dirname("C:\\m\\jobs.jsonl"))
  end)

  it("Windows: a drive, rooted or UNC path stays itself; both slashes separate", function()
    fs.windows = true
    assert.are.equal("C:\\out\\a.png", fs.join("C:\\out", "a.png"))
    assert.are.equal("C:\\out\\img/a.png", fs.join("C:\\out\\", "img/a.png"))
    assert.are.equal("C:/out\\a.png", fs.join("C:/out/", "a.png"))
    assert.are.equal("D:\\abs\\a.png", fs.join("C:\\out", "D:\\abs\\a.png"))
    assert.are.equal("d:/abs/a.png", fs.join("C:\\out", "d:/abs/a.png"))
    assert.are.equal("\\rooted\\a.png", fs.join("C:\\out", "\\rooted\\a.png"))
    assert.are.equal("/rooted/a.png", fs.join("C:\\out", "/rooted/a.png"))
    assert.are.equal("\\\\server\\share\\a.png", fs.join("C:\\out", "\\\\server\\share\\a.png"))
    assert.are.equal("C:\\a.png", fs.join("C:\\", "a.png"))
    assert.are.equal("C:\\m", fs.dirname("C:\\m\\jobs.jsonl"))
    assert.are.equal("C:/m", fs.dirname("C:/m/jobs.jsonl"))
    assert.are.equal("C:\\m/sub", fs.dirname("C:\\m/sub\\jobs.jsonl"))
    assert.are.equal("C:\\", fs.dirname("C:\\jobs.jsonl"))
    assert.are.equal("C:/", fs.dirname("C:/jobs.jsonl"))
    assert.are.equal("\\", fs.dirname("\\jobs.jsonl"))
    assert.are.equal("C:", fs.dirname("C:jobs.jsonl")) -- drive-relative: the drive's current folder
    assert.are.equal(".", fs.dirname("jobs.jsonl"))
  end)
end)
