# audit.py: gdb's Python, for tools/check-callbacks. A breakpoint on every
# Lua C API function the interpreter exports (lua_*, luaL_*) walks the
# stack on each call: a libcurl frame anywhere below means our code called
# Lua from inside a libcurl callback, where a Lua error would unwind
# through libcurl. The breakpoints never stop the program; the counts are
# printed when it exits.
#
# The control: each of the module's libcurl callbacks (call_write,
# on_socket, on_timer, shared_lock, shared_unlock) is counted too, and the
# same stack walk must find libcurl below it every time; otherwise a Lua
# call made there could go unseen.
import subprocess

import gdb

CALLBACKS = ["call_write", "on_socket", "on_timer", "shared_lock", "shared_unlock"]
ENTRIES = ["curl_easy_perform", "curl_multi_socket_action", "curl_multi_add_handle",
           "curl_multi_remove_handle", "curl_multi_cleanup", "curl_easy_cleanup",
           "curl_share_cleanup"]
counts = {}
state = {"lua_calls": 0, "violations": 0, "callbacks_in_curl": 0, "callbacks_not_in_curl": 0}


def libcurl_below(frame):
    while frame is not None:
        if "libcurl" in (gdb.solib_name(frame.pc()) or ""):
            return True
        frame = frame.older()
    return False


class Count(gdb.Breakpoint):
    def stop(self):
        counts[self.location] = counts.get(self.location, 0) + 1
        return False


class Callback(Count):
    def stop(self):
        Count.stop(self)
        key = "callbacks_in_curl" if libcurl_below(gdb.newest_frame()) else "callbacks_not_in_curl"
        state[key] += 1
        return False


class LuaApi(gdb.Breakpoint):
    def stop(self):
        state["lua_calls"] += 1
        if libcurl_below(gdb.newest_frame()):
            state["violations"] += 1
            if state["violations"] <= 5:
                print("check-callbacks: VIOLATION: %s called with libcurl on the stack" % self.location)
                gdb.execute("bt 20")
        return False


def setup():
    for name in ENTRIES:
        Count(name, internal=True)
    for name in CALLBACKS:
        Callback(name, internal=True)
    exe = gdb.current_progspace().filename
    nm = subprocess.run(["nm", "-D", "--defined-only", exe], capture_output=True, text=True, check=True)
    names = set()
    for line in nm.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TW" and parts[2].startswith(("lua_", "luaL_")):
            names.add(parts[2].split("@")[0])     # lua_gettop@@LUA_5.4
    for name in sorted(names):
        LuaApi(name, internal=True)
    print("check-callbacks: watching %d Lua API functions of %s" % (len(names), exe))
    gdb.events.exited.connect(report)


def report(event):
    print("check-callbacks: entered: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    print("check-callbacks: RESULT lua_calls=%d violations=%d callbacks_in_curl=%d callbacks_not_in_curl=%d exit=%s"
          % (state["lua_calls"], state["violations"], state["callbacks_in_curl"],
             state["callbacks_not_in_curl"], getattr(event, "exit_code", "?")))
    for name in CALLBACKS:
        print("check-callbacks: RAN %s %d" % (name, counts.get(name, 0)))


setup()
