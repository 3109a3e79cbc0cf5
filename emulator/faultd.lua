-- faultd: the emulator's test-only listeners that nginx cannot play, on
-- 127.0.0.1 only, started and stopped by emulator/emulator (start --test):
--
--   lua faultd.lua DIR PROXY_PORT BLACKHOLE_PORT
--
-- * proxy: a recording HTTP proxy. CONNECT host:port opens a tunnel;
--   absolute-form requests (GET http://host:port/path) are forwarded with
--   Connection: close. Only loopback targets are served. Each request head
--   it receives (and the body of a forwarded request) is appended, as one
--   JSON line, to DIR/proxy.jsonl, which the emulator serves at
--   /_emulator/recorded.
-- * blackhole: a socket that listens with a backlog of 0 and never accepts;
--   faultd fills its queue itself, so the kernel drops later SYNs and a
--   client's connect hangs until its own timeout.
--
-- One thread: socket.select() over the listener and the tunnels. It exits
-- when DIR/faultd.pid no longer names it (the emulator was stopped or
-- started again), so it can never outlive its emulator for long.

local socket = require "socket"
local cjson = require "cjson"

local dir, proxy_port, blackhole_port = ...
assert(dir and tonumber(proxy_port) and tonumber(blackhole_port),
       "usage: faultd.lua DIR PROXY_PORT BLACKHOLE_PORT")

local HOST = "127.0.0.1"
local HEAD_TIMEOUT = 5     -- seconds to read a request head
local MAX_HEAD_LINES = 200

local function listen(port, backlog)
    local s = assert(socket.tcp4())
    assert(s:setoption("reuseaddr", true))
    assert(s:bind(HOST, tonumber(port)))
    assert(s:listen(backlog))
    return s
end

local function log(...)
    io.stderr:write(os.date("!%Y-%m-%dT%H:%M:%SZ "), table.concat({ ... }, " "), "\n")
end

-- Reads a request head; returns the request line, headers (lowercased
-- names), the raw head text, or nil and an error.
local function read_head(c)
    c:settimeout(HEAD_TIMEOUT)
    local line, err = c:receive("*l")
    if not line then return nil, err end
    local raw, headers = { line }, {}
    for _ = 1, MAX_HEAD_LINES do
        local h, herr = c:receive("*l")
        if not h then return nil, herr end
        raw[#raw + 1] = h
        if h == "" then
            return line, headers, table.concat(raw, "\r\n") .. "\r\n"
        end
        local name, value = h:match("^([^:]+):%s*(.-)%s*$")
        if name then headers[name:lower()] = value end
    end
    return nil, "head too long"
end

local function read_body(c, headers)
    local n = tonumber(headers["content-length"] or 0) or 0
    if n <= 0 then return "" end
    return c:receive(n) or ""
end

------------------------------------------------------------------------------
-- proxy

local record_path = dir .. "/proxy.jsonl"

local function record(entry)
    local f = io.open(record_path, "ab")
    if f then
        f:write(cjson.encode(entry), "\n")
        f:close()
    end
end

local tunnels = {}   -- socket -> the socket at the other end

local function open_tunnel(a, b)
    a:settimeout(0)
    b:settimeout(0)
    tunnels[a], tunnels[b] = b, a
end

local function close_tunnel(s)
    local peer = tunnels[s]
    tunnels[s] = nil
    s:close()
    if peer then
        tunnels[peer] = nil
        peer:close()
    end
end

local function loopback(host)
    return host == "127.0.0.1" or host == "localhost"
end

local function refuse(c, status)
    c:send("HTTP/1.1 " .. status .. "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    c:close()
end

local function serve_proxy(c)
    local line, headers, raw = read_head(c)
    if not line then
        c:close()
        return
    end
    local method, target = line:match("^(%u+) (%S+) HTTP/1%.[01]$")
    local entry = { method = method, target = target, headers = headers, head = raw }
    local host, port, rest
    if method == "CONNECT" then
        host, port = target:match("^%[?([^%]]+)%]?:(%d+)$")
    elseif target then
        host, port, rest = target:match("^http://([^/:]+):?(%d*)(.*)$")
        entry.body = read_body(c, headers)
    end
    record(entry)
    if not host or not loopback(host) then
        return refuse(c, "403 Forbidden")
    end
    local upstream = socket.tcp4()
    upstream:settimeout(5)
    if not upstream:connect(HOST, tonumber(port ~= "" and port or 80)) then
        upstream:close()
        return refuse(c, "502 Bad Gateway")
    end
    if method == "CONNECT" then
        c:send("HTTP/1.1 200 Connection established\r\n\r\n")
    else
        -- Origin-form request line, the client's headers bar the proxy's
        -- own, and Connection: close so one request uses one tunnel.
        local out = { method .. " " .. (rest ~= "" and rest or "/") .. " HTTP/1.1" }
        local first = true
        for h in raw:gmatch("[^\r\n]+") do
            local name = not first and h:match("^([^:]+):")
            first = false
            if name and not name:lower():match("^proxy%-") and name:lower() ~= "connection" then
                out[#out + 1] = h
            end
        end
        out[#out + 1] = "Connection: close"
        upstream:send(table.concat(out, "\r\n") .. "\r\n\r\n" .. entry.body)
    end
    open_tunnel(c, upstream)
end

local function relay(s)
    local data, err, partial = s:receive(65536)
    data = data or partial
    local peer = tunnels[s]
    if data and #data > 0 and peer then
        peer:settimeout(5)
        peer:send(data)
        peer:settimeout(0)
    end
    if err == "closed" then
        close_tunnel(s)
    end
end

------------------------------------------------------------------------------
-- main

local proxy_server = listen(proxy_port, 32)
-- The black hole and what fills its accept queue: with a backlog of 0 it
-- holds one connection, and the kernel then drops further SYNs. A few more
-- than needed stay half-open and change nothing. Kept in a table that
-- lives as long as the loop, so the collector never closes them.
local blackhole = { listen(blackhole_port, 0) }
for _ = 1, 4 do
    local f = socket.tcp4()
    f:settimeout(0)
    f:connect(HOST, tonumber(blackhole_port))
    blackhole[#blackhole + 1] = f
end

local pid_path = dir .. "/faultd.pid"
local function my_pid()
    local f = io.open("/proc/self/stat", "r")
    local pid = f and f:read("*n")
    if f then f:close() end
    return pid
end
local pid = my_pid()

local function still_wanted()
    local f = io.open(pid_path, "r")
    if not f then return false end
    local named = f:read("*n")
    f:close()
    return named == pid
end

do
    local f = assert(io.open(dir .. "/faultd.ready", "w"))
    f:write(tostring(pid), "\n")
    f:close()
end
log("faultd: proxy", proxy_port, "blackhole", blackhole_port)

local last_check = socket.gettime()
while blackhole[1] do
    local watch = { proxy_server }
    for s in pairs(tunnels) do watch[#watch + 1] = s end
    local readable = socket.select(watch, nil, 1)
    for _, s in ipairs(readable) do
        if s == proxy_server then
            local c = s:accept()
            if c then
                local ok, err = pcall(serve_proxy, c)
                if not ok then
                    log("faultd:", tostring(err))
                    pcall(c.close, c)
                end
            end
        elseif tunnels[s] then
            relay(s)
        end
    end
    if socket.gettime() - last_check > 2 then
        last_check = socket.gettime()
        if not still_wanted() then
            log("faultd: the emulator is gone; exiting")
            os.exit(0)
        end
    end
end
