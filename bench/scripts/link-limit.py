#!/usr/bin/env python3
"""link-limit.py LISTEN_PORT TARGET_PORT BYTES_PER_S: a one-connection TCP middlebox on 127.0.0.1 that forwards what the
client sends to TARGET_PORT at most BYTES_PER_S (100 ms windows of BYTES_PER_S / 10, as QEMU's max-bandwidth), and the
other direction unlimited. It stands for the slow link in relay-link.sh, so that QEMU -> QEMU runs meet the same link as
the relays' (QEMU's own max-bandwidth is lifted at completion: no link does that). Prints 'listening'; exits at EOF."""
import socket
import sys
import threading
import time

listen_port, target_port, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
window = rate / 10.0
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(1)
server.settimeout(900)
print("listening", flush=True)
client, _ = server.accept()
target = socket.create_connection(("127.0.0.1", target_port), timeout=900)
for s in (client, target):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 << 10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 10)


def back():
    try:
        while True:
            data = target.recv(65536)
            if not data:
                break
            client.sendall(data)
    except OSError:
        pass


threading.Thread(target=back, daemon=True).start()
start, used = time.monotonic(), 0
try:
    while True:
        data = client.recv(min(65536, max(1, int(window))))
        if not data:
            break
        target.sendall(data)
        used += len(data)
        if used >= window:
            left = start + 0.1 - time.monotonic()
            if left > 0:
                time.sleep(left)
            start, used = time.monotonic(), used - window
        elif time.monotonic() - start >= 0.1:
            start, used = time.monotonic(), 0
    target.shutdown(socket.SHUT_WR)
    time.sleep(1)
except OSError:
    pass
