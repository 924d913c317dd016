#!/usr/bin/env python3
"""A UDP chat server: each datagram that arrives is printed, and you answer its sender.

There is no connection: the server learns who wrote from each datagram itself. Q (by either side)
ends the chat. Watch it with:  sudo sockscope trace -- python3 udp_server.py

Usage: python3 udp_server.py [ADDRESS] [PORT]   (default 127.0.0.1 9000; port 0 lets the system choose)
"""
import socket
import sys


def wants_to_quit(text):
    return text.strip().upper() == "Q"


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((address, port))
    print("waiting for datagrams on", address, "port", sock.getsockname()[1], flush=True)
    while True:
        data, sender = sock.recvfrom(2048)
        text = data.decode("utf-8", errors="replace")
        print("from", sender[0], "port", sender[1], ":", text, flush=True)
        if wants_to_quit(text):
            break
        try:
            answer = input("you> ")
        except EOFError:
            answer = "Q"
        sock.sendto(answer.encode("utf-8"), sender)
        if wants_to_quit(answer):
            break
    sock.close()


if __name__ == "__main__":
    main()
