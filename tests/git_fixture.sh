# Git repositories for the CD end-to-end tests (source after tests/lib.sh):
# make a bare repository from a directory, keep a working clone to commit and
# push from, and serve the bare repositories with `git daemon` on loopback.
#
#   git_repo_from_dir SRC NAME   -> $GIT_BASE/NAME.git (bare, branch master) and
#                                   $GIT_WORK/NAME (a clone to edit); prints the SHA
#   git_push NAME MESSAGE        -> commits everything in $GIT_WORK/NAME, pushes
#                                   to master, prints the new SHA
#   start_git_daemon             -> GIT_PORT, GIT_DAEMON_PID; git_url NAME is
#                                   git://127.0.0.1:$GIT_PORT/NAME.git
#   stop_git_daemon
# Commits carry a fixed identity and no user or system configuration is read.

GIT_BASE="$WORK/git-base"
GIT_WORK="$WORK/git-work"
GIT_PORT=""
GIT_DAEMON_PID=""

export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Argonaut Test" GIT_AUTHOR_EMAIL="test@argonaut.invalid"
export GIT_COMMITTER_NAME="Argonaut Test" GIT_COMMITTER_EMAIL="test@argonaut.invalid"
export GIT_TERMINAL_PROMPT=0

git_q() { git -c advice.detachedHead=false -c init.defaultBranch=master "$@"; }

git_repo_from_dir() {
  local src=$1 name=$2
  mkdir -p "$GIT_BASE" "$GIT_WORK"
  [[ -d "$src" ]] || fail "git_repo_from_dir: no directory $src"
  git_q init -q --bare "$GIT_BASE/$name.git"
  rm -rf "$GIT_WORK/$name"
  mkdir -p "$GIT_WORK/$name"
  cp -R "$src/." "$GIT_WORK/$name/"
  git_q -C "$GIT_WORK/$name" init -q
  git_q -C "$GIT_WORK/$name" remote add origin "$GIT_BASE/$name.git"
  git_push "$name" "initial import"
}

git_push() {
  local name=$1 message=$2
  git_q -C "$GIT_WORK/$name" add -A >/dev/null
  git_q -C "$GIT_WORK/$name" commit -q --allow-empty -m "$message" >/dev/null
  git_q -C "$GIT_WORK/$name" push -q origin HEAD:refs/heads/master >/dev/null 2>&1 ||
    fail "git push of $name failed"
  git_q -C "$GIT_WORK/$name" rev-parse HEAD
}

git_url() { echo "git://127.0.0.1:${GIT_PORT}/$1.git"; }

start_git_daemon() {
  mkdir -p "$GIT_BASE"
  GIT_PORT=$(free_port)
  git daemon --export-all --base-path="$GIT_BASE" --listen=127.0.0.1 --port="$GIT_PORT" \
    --reuseaddr --enable=receive-pack "$GIT_BASE" >"$WORK/git-daemon.log" 2>&1 &
  GIT_DAEMON_PID=$!
  local probe
  probe=$(ls "$GIT_BASE" | head -n 1)
  for _ in $(seq 1 150); do
    if [[ -z $probe ]]; then
      # Nothing to list yet: the port answering is enough.
      (exec 3<>"/dev/tcp/127.0.0.1/$GIT_PORT") 2>/dev/null && return 0
    elif git ls-remote "git://127.0.0.1:${GIT_PORT}/$probe" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$GIT_DAEMON_PID" 2>/dev/null || {
      cat "$WORK/git-daemon.log" >&2
      fail "git daemon exited early"
    }
    sleep 0.1
  done
  cat "$WORK/git-daemon.log" >&2
  fail "git daemon did not answer on 127.0.0.1:$GIT_PORT"
}

stop_git_daemon() {
  stop_pid "$GIT_DAEMON_PID" TERM
  GIT_DAEMON_PID=""
}

# Stop the daemon, then `argonaut up`, whatever way the test ends.
trap 'stop_git_daemon; stop_up TERM' EXIT
