-- util.lua: the small pieces every bench script needs: output, medians,
-- numbers with thousands separators, and what /proc says of this process.
-- Plain Lua 5.1-5.4 and LuaJIT.
local util = {}

function util.say(...) io.stderr:write(...) io.stderr:flush() end

function util.median(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local h = math.floor(#s / 2)
  return #s % 2 == 1 and s[h + 1] or (s[h] + s[h + 1]) / 2
end

function util.thousands(x)
  local s = ("%d"):format(math.floor(x + 0.5))
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

-- Runs command and returns what it printed; raises, with that output,
-- when it fails.
function util.run(command)
  local pipe = assert(io.popen(command))
  local out = pipe:read("*a")
  local ok, how, code = pipe:close()
  if not ok then
    error(("bench: %s failed (%s %s):\n%s"):format(command, how, tostring(code), out))
  end
  return out
end

-- The lines of a file (a server's log); none when it does not exist yet.
function util.lines(path)
  local f = io.open(path)
  if not f then return {} end
  local lines = {}
  for line in f:lines() do lines[#lines + 1] = line end
  f:close()
  return lines
end

-- A "Name:  123 kB" field of /proc/self/status, in KiB (VmRSS, VmHWM).
function util.status_kib(field)
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+)"))
end

-- Our pid, for `ls /proc/PID/fd` (a child's /proc/self is its own).
local pid do
  local f = assert(io.open("/proc/self/stat"))
  pid = f:read("*l"):match("^(%d+)")
  f:close()
end
util.pid = pid

-- Open descriptors. The count includes the pipe io.popen opens to read it,
-- and for a moment after the child starts popen still holds both ends of
-- it, so one listing can see one descriptor too many: the least of three
-- listings is the count. A descriptor really left open is in all three.
function util.fd_count()
  local least = math.huge
  for _ = 1, 3 do
    local pipe = assert(io.popen("ls -1 /proc/" .. pid .. "/fd"))
    local n = 0
    for _ in pipe:lines() do n = n + 1 end
    pipe:close()
    least = math.min(least, n)
  end
  return least
end

return util
