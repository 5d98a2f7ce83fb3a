# A py2p 0.2 node for the live interop specs (spec/interop/live.ts writes this file to
# a temp dir and runs it). It imports py2p from the source tree given by PY2P_SRC (a copy
# made in the temp dir, since py2p's SSL server writes its certificate next to its
# source) and speaks JSON lines: commands on stdin, events on stdout.
#   stdin:  {"cmd": "send", "text": T} | {"cmd": "connect", "host": H, "port": P}
#           | {"cmd": "status"} | {"cmd": "quit"}
#   stdout: {"type": "listening", "id", "port"} | {"type": "message", "sender", "time", "id", "subflag", "packets"}
#           | {"type": "peer-up"/"peer-down", "id"} | {"type": "exception", "error", "traceback"}
#           | {"type": "status", "peers", "exceptions", "waterfalls"} | {"type": "sent", "text"} | {"type": "error", ...}
import json, sys, threading, time, traceback

src, port, encryption = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, src)
from py_src import mesh, base  # noqa: E402

out_lock = threading.Lock()

# Which peer and which frame each entry of daemon.exceptions came from (py2p records
# neither): found_terminator and send are wrapped, the frame kept only when one raised.
blame = {}
_found_terminator = mesh.mesh_connection.found_terminator
_send = mesh.mesh_connection.send


def found_terminator(self):
    raw = b"".join(self.buffer)
    try:
        return _found_terminator(self)
    except Exception:
        blame[len(self.server.daemon.exceptions)] = {"peer": text(self.id), "frame": raw[:4096].hex()}
        raise


def send(self, *args, **kargs):
    n = len(self.server.daemon.exceptions)
    _send(self, *args, **kargs)
    if len(self.server.daemon.exceptions) > n:
        blame[n] = {"peer": text(self.id), "frame": "", "in": "send"}


mesh.mesh_connection.found_terminator = found_terminator

# Relays of messages dated 5 s or more before py2p's clock: py2p dates its relay anew, so
# such a relay is a copy under a new id (what made rx2p deliver duplicates).
_waterfall = mesh.mesh_socket.waterfall


def waterfall(self, msg):
    new = _waterfall(self, msg)
    age = base.getUTC() - msg.time
    if new and age >= 5:
        p = msg.packets
        say({"type": "late-relay", "age": age, "flag": text(msg.msg.msg_type), "sender": text(msg.sender)[:12],
             "subflag": text(p[0]) if p else "", "text": text(p[1])[:40] if len(p) > 1 else ""})
    return new


mesh.mesh_socket.waterfall = waterfall
mesh.mesh_connection.send = send

# The user's calls run on py2p's daemon thread (between two turns of its loop): py2p 0.2
# is not thread-safe (send() iterates the routing table the daemon changes), and its
# races are no peer's doing.
import collections  # noqa: E402
calls = collections.deque()
_handle_accept = mesh.mesh_daemon.handle_accept


def handle_accept(self):
    while calls:
        try:
            calls.popleft()()
        except Exception as e:
            say({"type": "error", "where": "call", "error": repr(e), "traceback": traceback.format_exc()})
    return _handle_accept(self)


mesh.mesh_daemon.handle_accept = handle_accept


def say(record):
    with out_lock:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


sock = mesh.mesh_socket("127.0.0.1", port, base.protocol("mesh", encryption))
if port == 0:
    # Bound to a port the OS picked: advertise it, and derive the id from it as py2p does.
    import hashlib
    sock.out_addr = ("127.0.0.1", sock.daemon.sock.getsockname()[1])
    h = hashlib.sha384(b"".join([str(sock.out_addr).encode(), sock.protocol.id, base.user_salt]))
    sock.id = base.to_base_58(int(h.hexdigest(), 16))
say({"type": "listening", "id": text(sock.id), "port": sock.out_addr[1]})
alive = True


def watch():
    seen = set()
    reported = 0
    while alive:
        try:
            while True:
                m = sock.recv()
                if m is None:
                    break
                p = m.packets
                say({"type": "message", "sender": text(m.sender), "time": m.time, "id": text(m.id),
                     "subflag": text(p[0]) if p else "", "packets": [text(x) for x in p[1:]]})
            now = set(text(k) for k in list(sock.routing_table.keys()))
            for i in sorted(now - seen):
                say({"type": "peer-up", "id": i})
            for i in sorted(seen - now):
                say({"type": "peer-down", "id": i})
            seen = now
            exc = sock.daemon.exceptions
            while reported < len(exc):
                e, tb = exc[reported]
                reported += 1
                say(dict({"type": "exception", "error": repr(e), "traceback": tb}, **blame.get(reported - 1, {})))
        except Exception as e:  # the watcher itself must not die silently
            say({"type": "error", "where": "watch", "error": repr(e), "traceback": traceback.format_exc()})
        time.sleep(0.02)


threading.Thread(target=watch, daemon=True).start()

for line in sys.stdin:
    try:
        c = json.loads(line)
        if c["cmd"] == "send":
            calls.append(lambda t=c["text"]: sock.send(t))
        elif c["cmd"] == "connect":
            calls.append(lambda h=c["host"], p=c["port"]: sock.connect(h, p))
        elif c["cmd"] == "status":
            say({"type": "status", "peers": [text(k) for k in list(sock.routing_table.keys())],
                 "exceptions": len(sock.daemon.exceptions), "waterfalls": len(sock.waterfalls)})
        elif c["cmd"] == "quit":
            break
    except Exception as e:
        say({"type": "error", "where": "command", "error": repr(e), "traceback": traceback.format_exc()})
alive = False
time.sleep(0.05)
sock.daemon.alive = False
say({"type": "closed"})
