#!/bin/sh
# Lesson endpoints that run programs ("tcp server ... run COMMAND"), where they go wrong: a program that
# exits with another status than the lesson expects, a program that does not exist, a call it never
# makes, one that never ends. Each is a failed check naming the line, and the lesson still ends (exit
# status 1). And one that goes right: sockscope's own client waiting for a program's answer.
set -u
bin=$1
. "$(dirname "$0")/needs_capture.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $1"; cat "$dir/out"; exit 1; }
# run LESSON STATUS: runs $dir/LESSON.lesson (output in $dir/out) and fails unless it exits with STATUS.
run() {
  "$bin" lesson run "$dir/$1.lesson" --auto --color never </dev/null > "$dir/out" 2>&1
  rc=$?
  [ "$rc" = "$2" ] || fail "$1: exit status $rc, expected $2"
}

# A UDP "server" that is a shell command: it prints its port and exits 3. The lesson expects 0.
cat > "$dir/status.lesson" <<'LESSON'
title A program that fails
summary A program endpoint whose exit status is not what the lesson expects.
udp server 127.0.0.1 port auto run sh -c "echo port {port} from {dir}; exit 3"
udp client
server start
server end
client sendto "hi" -> any
LESSON
run status 1
grep -q "server printed: port [0-9]* from $dir" "$dir/out" || fail "the program's output with its placeholders filled"
grep -q "✗ line 6: server end" "$dir/out" || fail "no failed line 6"
grep -q "server ended with status 3; the lesson expected 0" "$dir/out" || fail "no status message"
grep -q "runs sh -c echo port {port}\|runs sh -c echo port [0-9]* from" "$dir/out" || fail "the endpoint list names the program"

# "end -> 3" states the status: then it is a check that holds.
sed 's/^server end$/server end -> 3/' "$dir/status.lesson" > "$dir/status3.lesson"
run status3 0
grep -q "✓ server end -> 3" "$dir/out" || fail "no held check for end -> 3"

# A program that is not there, and a call that a program never makes (it ends at once: no wait).
cat > "$dir/missing.lesson" <<'LESSON'
title A program that is not there
summary The lesson says which program is missing and goes on.
tcp server 127.0.0.1 port auto run sockscope-no-such-program {port}
tcp client run sh -c "exit 0"
server start
client start
client await connect
client end
server end
LESSON
run missing 1
grep -q "sockscope-no-such-program: no such program" "$dir/out" || fail "no 'no such program'"
grep -q "server ended with status 127" "$dir/out" || fail "a missing program ends with 127, as in a shell"
grep -q "client ended without the connect() call the lesson waited for" "$dir/out" || fail "no message for a call never made"
# A program that does not end when its input closes, with a child of its own: after 10 s it is
# stopped, child and all (its own process group), and that is a failed check.
cat > "$dir/hang.lesson" <<'LESSON'
title A program that does not end
summary Its child keeps running too; ending it stops both.
tcp server 127.0.0.1 port auto run sh -c "sleep 1007 & sleep 1007"
tcp client
server start
server end
LESSON
run hang 1
grep -q "server did not end within 10 seconds of its input being closed, and was stopped" "$dir/out" ||
  fail "no message for a program that does not end"
if pgrep -f "sleep 1007" >/dev/null; then pkill -f "sleep 1007"; fail "the program's child was left running"; fi

# sockscope's client waits in recv() for the program's answer, and the next step types that answer:
# a program's step waits only for its own endpoint, not for a call that waits for the step.
cat > "$dir/answer.lesson" <<'LESSON'
title A client that waits for the program
summary The server is the example chat server; the lesson types its answer while the client waits.
tcp server 127.0.0.1 port auto run python3 {examples}/tcp_server.py {address} {port}
tcp client
server start
server await listen
client connect
client send "hi"
server await recvfrom
client recv 1024 -> 2
server type "ok"
server await sendto
client close
server end
LESSON
run answer 0
grep -q 'recv() = 2 "ok"' "$dir/out" || fail "the client's recv() did not get the typed answer"
echo "ok"
