# Shared helpers of the front end's whole-program tests (sourced).
# Environment: HDBG (the hdbg executable), HD_BINARY_DIR (build tree),
# CLI_TEST_BIN (this folder's build dir: the exitcode program).
set -u
: "${HDBG:?HDBG must name the hdbg executable}"
: "${HD_BINARY_DIR:?}"
TARGETS=$HD_BINARY_DIR/targets

WORK=$(mktemp -d /tmp/hdbg-cli.XXXXXX)
export HOME=$WORK/home   # a private ~/.hdbg_history and no ~/.editrc
mkdir -p "$HOME"
NSTART=0
SOCK=$WORK/tmux.0.sock
CHILDREN=()

tm() { tmux -S "$SOCK" -f /dev/null "$@"; }

cleanup() {
	tm kill-server >/dev/null 2>&1
	for p in "${CHILDREN[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if [ -S "$SOCK" ]; then
		echo "--- screen:"
		screen
		echo "---"
	fi
	exit 1
}

pass() { echo "PASS: $*"; }

need_tmux() {
	if ! command -v tmux >/dev/null; then
		echo "SKIP: tmux is not installed (Debian package tmux; make deps installs it)"
		exit 77
	fi
}

# start ARGS...: run hdbg ARGS in a fresh 120x40 tmux pane; when hdbg ends
# the pane shows "[exit N]". HDBG_WRAP: a command to run hdbg under.
start() {
	tm kill-server >/dev/null 2>&1
	NSTART=$((NSTART + 1))
	SOCK=$WORK/tmux.$NSTART.sock   # a fresh server: the old one may still be exiting
	local cmd
	cmd=$(printf '%q ' "$HDBG" "$@")
	cmd="${HDBG_WRAP:-} $cmd"
	tm new-session -d -s t -x 120 -y 40 \
		"env HOME=$HOME ASAN_OPTIONS=\${ASAN_OPTIONS:-} $cmd; echo \"[exit \$?]\"; sleep 600"
}

# The whole pane (history included), trailing blank lines removed.
screen() { tm capture-pane -p -J -t t -S -1000 2>/dev/null | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }

# The row the cursor is on, trailing blanks removed.
cursor_line() {
	local y
	y=$(tm display -p -t t '#{cursor_y}')
	tm capture-pane -p -t t | sed -n "$((y + 1))p" | sed 's/[[:space:]]*$//'
}

# keys TEXT: type literal text (tmux reads a final ';' as a separator).
keys() {
	if [[ "$1" == *\; ]]; then
		tm send-keys -t t -l -- "${1%;}"
		tm send-keys -t t -l -- '\;'
	else
		tm send-keys -t t -l -- "$1"
	fi
}
key() { tm send-keys -t t "$@"; }          # named keys: Enter Tab Up C-c C-d

# wait_screen REGEX [tenths]: until the pane matches REGEX (ERE).
wait_screen() {
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	fail "timeout waiting for /$1/ on the screen"
}

# wait_line TEXT [tenths]: until the cursor's row is exactly TEXT.
wait_line() {
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		[ "$(cursor_line)" = "$1" ] && return 0
		sleep 0.1
	done
	fail "timeout waiting for the cursor line '$1' (it is '$(cursor_line)')"
}

# wait_prompt [tenths]: until the prompt is shown and libedit has put the
# terminal in raw mode (keys sent earlier would be cooked by the tty).
wait_prompt() {
	local i tty
	wait_line "hdbg>" "$@"
	tty=$(tm display -p -t t '#{pane_tty}')
	for ((i = 0; i < 100; i++)); do
		stty -F "$tty" -a 2>/dev/null | grep -qw -- -icanon && return 0
		sleep 0.05
	done
	fail "the terminal did not switch to raw mode at the prompt"
}

# The number of rows that start with the prompt (typed lines included).
prompts() { screen | grep -c '^hdbg>'; }

# run_line TEXT: type TEXT (may be empty), Enter, and wait for the next
# prompt: one more prompt row than before, with the cursor on it.
run_line() {
	local i n
	n=$(prompts)
	[ -n "$1" ] && keys "$1"
	key Enter
	for ((i = 0; i < ${2:-200}; i++)); do
		[ "$(prompts)" -gt "$n" ] && break
		sleep 0.1
	done
	wait_prompt
}

# wait_state PID REGEX [tenths]: until the states of PID's threads match.
wait_state() {
	local i st
	for ((i = 0; i < ${3:-50}; i++)); do
		st=$(thread_states "$1")
		[[ "$st" =~ $2 ]] && return 0
		sleep 0.1
	done
	fail "process $1: thread states '$st', expected /$2/"
}

# The scheduler state letter of every thread of PID (e.g. "t t").
thread_states() {
	local s
	for s in /proc/"$1"/task/*/stat; do
		sed 's/^.*) \(.\).*$/\1/' "$s" 2>/dev/null
	done | tr '\n' ' ' | sed 's/ $//'
}
