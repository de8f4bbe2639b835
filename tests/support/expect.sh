# Sourced by the target checks (which set $out, their work folder).
# expect STATUS LABEL COMMAND...: runs COMMAND with its output in $out/log and
# fails the check (printing the log) unless it exits with STATUS; on success
# prints "ok LABEL:" and the self-test's line.
expect() {
    want=$1; label=$2; shift 2
    status=0
    "$@" >"$out/log" 2>&1 || status=$?
    if [ "$status" -ne "$want" ]; then
        cat "$out/log"
        echo "FAIL $label: exit status $status, want $want"
        exit 1
    fi
    echo "ok $label: $(grep -h 'selftest:' "$out/log" || echo "status $status")"
}
