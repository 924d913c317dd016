#!/usr/bin/env python3
"""The load of the trace benchmark (tests/bench/trace.sh): one process, a TCP server thread that echoes
and a client that makes N request/reply round trips over loopback. Usage: trace_roundtrips.py N"""
import socket
import sys
import threading


def serve(listener):
    connection, _ = listener.accept()
    while True:
        data = connection.recv(64)
        if not data:
            break
        connection.sendall(data)
    connection.close()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    server = threading.Thread(target=serve, args=(listener,))
    server.start()
    client = socket.create_connection(listener.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(n):
        client.sendall(b"ping")
        if client.recv(64) != b"ping":
            sys.exit("a reply was lost")
    client.close()
    server.join()
    listener.close()


if __name__ == "__main__":
    main()
