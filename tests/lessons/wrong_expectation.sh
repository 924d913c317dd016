#!/bin/sh
# The command line reports a failed expectation: exit status 1, the lesson line, what was expected and
# what the capture showed. Also: a malformed lesson exits 2 with file:line before anything runs.
set -u
bin=$1
. "$(dirname "$0")/needs_capture.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/wrong.lesson" <<'LESSON'
title Wrong on purpose
summary A UDP exchange checked against a TCP handshake that never happens.
udp server
udp client
server bind
client sendto "hi"
server recvfrom 100 -> 2
expect handshake-1 handshake-2 -- UDP has no handshake: this must fail
expect count datagram == 3
LESSON
"$bin" lesson run "$dir/wrong.lesson" --auto --color never </dev/null > "$dir/out" 2>&1
rc=$?
fail() { echo "FAIL: $1"; cat "$dir/out"; exit 1; }
[ "$rc" = 1 ] || fail "exit status $rc, expected 1"
grep -q "✗ line 8: expect handshake-1 handshake-2" "$dir/out" || fail "no failed line 8"
grep -q "the capture never showed handshake-1" "$dir/out" || fail "no 'never showed'"
grep -q "expected count datagram == 3; the capture showed count datagram = 1" "$dir/out" || fail "no count message"
grep -q "2 of 3 checks failed" "$dir/out" || fail "no summary"

printf 'title x\nsummary y\ntcp server\ntcp client\nclient conect\n' > "$dir/bad.lesson"
"$bin" lesson run "$dir/bad.lesson" --auto > "$dir/out" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "malformed lesson: exit status $rc, expected 2"
grep -q "bad.lesson:5: unknown call 'conect' (hint: " "$dir/out" || fail "no file:line diagnostic"
grep -q "nothing was run" "$dir/out" || fail "no 'nothing was run'"
echo "ok"
