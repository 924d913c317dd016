#!/usr/bin/env python3
"""A UDP chat client for udp_server.py: each line you type is one datagram, and the answer is another.

Q ends the chat. Watch it with:  sudo sockscope trace -- python3 udp_client.py

Usage: python3 udp_client.py [ADDRESS] [PORT]   (default 127.0.0.1 9000)
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
    server = (address, port)
    while True:
        try:
            line = input("you> ")
        except EOFError:
            line = "Q"
        sock.sendto(line.encode("utf-8"), server)
        if wants_to_quit(line):
            break
        data, sender = sock.recvfrom(2048)
        text = data.decode("utf-8", errors="replace")
        print("server:", text, flush=True)
        if wants_to_quit(text):
            break
    sock.close()


if __name__ == "__main__":
    main()
