#!/usr/bin/env bash
# A longer run of the SquashFS mutation fuzz test: ITERATIONS cases per fixture (8 fixtures), SEED selects
# the mutation sequence. Every case must end in success or a typed SquashFsFormatException/FormatLimitException.
#   bench/SquashFs/fuzz.sh [ITERATIONS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/../.."
RMK_FUZZ_ITERATIONS="${1:-20000}" RMK_FUZZ_SEED="${2:-$RANDOM}" \
  dotnet test tests/Razor.Microkernel.Formats.Tests --filter "FullyQualifiedName~SquashFsFuzz"
