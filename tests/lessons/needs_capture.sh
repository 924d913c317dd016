# Sourced by the lesson tests: a lesson needs a live capture, so root. Elsewhere the test is skipped
# (77), except in CI (CI=true), where it fails.
if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then echo "not root: lessons need a live capture (CI=true, so this fails)"; exit 1; fi
  echo "skipped: not root, and a lesson needs a live capture"; exit 77
fi
