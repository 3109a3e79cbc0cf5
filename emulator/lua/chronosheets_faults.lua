-- chronosheets_faults: a misbehaving server, on demand (--test only).
--
-- GET|PUT|DELETE /_fault/<name>/anything on the test port answers with the
-- fault <name>, written as raw bytes on the request's own TCP connection
-- (ngx.req.socket(true)), so nginx adds nothing and fixes nothing. A client
-- made with base_url = "http://127.0.0.1:PORT/_fault/<name>" meets the fault
-- on every call. Also here: the recorder, the listener that stands for
-- "another host" (redirect targets), which keeps whatever reaches it.

local cjson = require "cjson.safe"

local ngx = ngx
local concat = table.concat
local rep = string.rep
local format = string.format
local io_open = io.open

local _M = {}

local record_dict = ngx.shared.chronosheets_record

local gzip_bomb_path   -- set by init: a gzip file that inflates to zeros

local JSON = "Content-Type: application/json; charset=utf-8\r\n"

-- The raw socket of the request; the body (if any) read first, so that
-- nginx has nothing pending on the connection.
local function raw_socket()
    ngx.req.read_body()
    local sock, err = ngx.req.socket(true)
    if not sock then
        ngx.log(ngx.ERR, "no raw socket: ", err)
        return ngx.exit(500)
    end
    sock:settimeout(60000)
    return sock
end

-- Holds the connection open until the client gives up and closes it (at
-- most a minute); nginx's worker_shutdown_timeout ends it at stop.
local function wait_for_close(sock)
    local deadline = ngx.now() + 60
    sock:settimeout(1000)
    while ngx.now() < deadline do
        local _, err = sock:receive(1)
        if err and err ~= "timeout" then
            return
        end
    end
end

local function send(sock, data)
    local ok, err = sock:send(data)
    if not ok then
        ngx.log(ngx.INFO, "fault: send failed: ", err)
    end
    return ok
end

-- Streams n bytes of a JSON-looking body (an open string) in 64 KiB pieces.
local function stream(sock, n, chunked)
    local piece = rep("x", 65536)
    local first = '{"Data":"'
    local ok = send(sock, chunked and format("%x\r\n%s\r\n", #first, first) or first)
    local sent = #first
    while ok and sent < n do
        local size = n - sent < #piece and n - sent or #piece
        local data = size == #piece and piece or piece:sub(1, size)
        ok = send(sock, chunked and format("%x\r\n%s\r\n", size, data) or data)
        sent = sent + size
    end
    if ok and chunked then
        send(sock, "0\r\n\r\n")
    end
end

local BIG = 9 * 1024 * 1024   -- over the client's default 8 MiB cap

local FAULTS = {}

-- Accepts, reads the request, never answers.
function FAULTS.silent(sock)
    wait_for_close(sock)
end

-- A status line and headers promising 100 bytes, then nothing.
function FAULTS.stall(sock)
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Content-Length: 100\r\n\r\n")
    wait_for_close(sock)
end

-- Headers, then one byte a second for as long as the client listens.
function FAULTS.drip(sock)
    local body = '{"Data":{"Id":1},"Status":"Succeeded","Message":""}'
    if not send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Content-Length: " .. #body .. "\r\n\r\n") then
        return
    end
    for i = 1, #body do
        if not send(sock, body:sub(i, i)) then
            return
        end
        ngx.sleep(1)
    end
end

-- Content-Length: 500, then 40 bytes and a clean close (FIN).
function FAULTS.short(sock)
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Content-Length: 500\r\n\r\n"
               .. '{"Data":{"Id":1,"FirstName":"Ada","Las')
end

-- Headers of a 1000-byte reply, 20 bytes of it, then a TCP RST: nginx
-- closes a request finished with the non-standard 444 with SO_LINGER 0
-- when reset_timedout_connection is on (the test server block sets it).
function FAULTS.reset(sock)
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Content-Length: 1000\r\n\r\n"
               .. '{"Data":{"Id":1,"Fir')
    ngx.sleep(0.05)   -- let the client read what came so far
    return ngx.exit(444)
end

-- A chunked body that stops after a chunk, without the final 0-size one.
function FAULTS.chunked_open(sock)
    local part = '{"Data":{"Id":1,"FirstName":"Ada"'
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Transfer-Encoding: chunked\r\n\r\n"
               .. format("%x\r\n%s\r\n", #part, part))
end

-- A chunk size that is not hexadecimal.
function FAULTS.bad_chunk(sock)
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Transfer-Encoding: chunked\r\n\r\n"
               .. "zz\r\n" .. '{"Data":{"Id":1}}' .. "\r\n0\r\n\r\n")
end

-- One response header line of 200 KiB.
function FAULTS.huge_header(sock)
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "X-Huge: " .. rep("h", 200 * 1024) .. "\r\n"
               .. "Content-Length: 2\r\n\r\n{}")
    wait_for_close(sock)
end

-- 2,000 header lines of 500 bytes: about 1 MB of headers in all.
function FAULTS.many_headers(sock)
    local lines = {}
    local value = rep("m", 480)
    for i = 1, 2000 do
        lines[i] = format("X-Many-%04d: %s\r\n", i, value)
    end
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. concat(lines) .. "Content-Length: 2\r\n\r\n{}")
    wait_for_close(sock)
end

-- 9 MiB, announced by Content-Length.
function FAULTS.big_length(sock)
    if send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Content-Length: " .. BIG .. "\r\n\r\n") then
        stream(sock, BIG, false)
    end
end

-- 9 MiB with no length: the body ends when the connection closes.
function FAULTS.big_close(sock)
    if send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Connection: close\r\n\r\n") then
        stream(sock, BIG, false)
    end
end

-- 9 MiB in chunks.
function FAULTS.big_chunked(sock)
    if send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Transfer-Encoding: chunked\r\n\r\n") then
        stream(sock, BIG, true)
    end
end

-- A gzip stream that inflates to 64 MiB of zeros, labelled
-- Content-Encoding: gzip although the client never asked for it.
function FAULTS.gzip_bomb(sock)
    local f = gzip_bomb_path and io_open(gzip_bomb_path, "rb")
    local bomb = f and f:read("*a") or ""
    if f then f:close() end
    send(sock, "HTTP/1.1 200 OK\r\n" .. JSON .. "Content-Encoding: gzip\r\n"
               .. "Content-Length: " .. #bomb .. "\r\n\r\n" .. bomb)
end

function _M.exists(name)
    return FAULTS[name] ~= nil
end

-- Answers the current request with the fault name.
function _M.play(name)
    FAULTS[name](raw_socket())
end

-- GET|PUT|... /_fault/<name>[/...]; true when it handled the request.
function _M.handle_fault(uri)
    local name = uri:match("^/_fault/([%w_]+)")
    if not (name and FAULTS[name]) then
        return false
    end
    _M.play(name)
    return true
end

------------------------------------------------------------------------------
-- The recorder: every request to the recorder's port is kept (method, URI,
-- headers, body), oldest first, and answered with 200 and a JSON body that
-- looks like a successful envelope, so a client that followed a redirect
-- there would be caught taking it.

local MAX_RECORDS = 100

function _M.record()
    ngx.req.read_body()
    local entry = {
        port = tonumber(ngx.var.server_port),
        method = ngx.req.get_method(),
        uri = ngx.var.request_uri,
        headers = ngx.req.get_headers(100),   -- names lowercased
        body = ngx.req.get_body_data() or "",
    }
    local list = cjson.decode(record_dict:get("list") or "[]") or {}
    if #list < MAX_RECORDS then
        list[#list + 1] = entry
        record_dict:set("list", cjson.encode(list))
    end
    ngx.status = 200
    ngx.header["Content-Type"] = "application/json; charset=utf-8"
    ngx.print('{"Data":true,"Status":"Succeeded","Message":"recorded"}')
end

-- The recorder's entries, as a JSON array text.
function _M.recorded()
    return record_dict:get("list") or "[]"
end

function _M.reset()
    record_dict:delete("list")
end

function _M.init(opts)
    gzip_bomb_path = opts.gzip_bomb_path
end

return _M
