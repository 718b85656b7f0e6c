#!/usr/bin/env bash
# Packs the SDK into artifacts/packages/ (Razor.Microkernel.Sdk.<version>.nupkg).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet pack src/Razor.Microkernel.Sdk/Razor.Microkernel.Sdk.csproj -c Release -o artifacts/packages -nr:false "$@"
