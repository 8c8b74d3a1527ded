#!/usr/bin/env python3
"""tee-proxy.py LISTEN_PORT TARGET_PORT FILE: accepts one connection on 127.0.0.1:LISTEN_PORT, connects to
127.0.0.1:TARGET_PORT and copies what the first sends to the second and to FILE, byte for byte (one way: a precopy
stream). Prints 'listening' once it listens; exits when the sender closes. For checks that need the exact bytes a
QEMU source sent."""
import socket
import sys

listen_port, target_port, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(1)
server.settimeout(600)
print("listening", flush=True)
source, _ = server.accept()
target = socket.create_connection(("127.0.0.1", target_port), timeout=60)
with open(path, "wb") as out:
    while True:
        data = source.recv(1 << 20)
        if not data:
            break
        out.write(data)
        target.sendall(data)
target.shutdown(socket.SHUT_WR)
# Keep the target's connection until it closes (it reads to the end first).
target.settimeout(60)
try:
    while target.recv(65536):
        pass
except OSError:
    pass
