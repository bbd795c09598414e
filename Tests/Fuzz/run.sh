#!/usr/bin/env bash
# Builds and runs the libFuzzer harness of the control endpoint's HTTP request parser (not part of `swift build`).
#   Tests/Fuzz/run.sh [SECONDS]   (default 120)
# New inputs go to .build/fuzz/corpus (not committed); crashes to .build/fuzz/crash-*. The seeds in
# Tests/Fuzz/Corpus/http are committed: add a minimized crash there once it is fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-120}
mkdir -p .build/fuzz/corpus
swiftc -O -parse-as-library -sanitize=fuzzer,address \
    Sources/ConnectionManager/Control/HTTPRequestParser.swift Tests/Fuzz/HTTPRequestParserFuzz.swift \
    -o .build/fuzz/http-parser
exec .build/fuzz/http-parser -max_total_time="$seconds" -max_len=12000 -artifact_prefix=.build/fuzz/ \
    .build/fuzz/corpus Tests/Fuzz/Corpus/http
