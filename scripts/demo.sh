#!/bin/sh
# demo.sh - install what is missing, build, and run the example chat bot on
# two embedded SQLite databases.
set -eu
DBR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$DBR_ROOT/scripts/lib.sh"

dbr_ensure_packages $DBR_PACKAGES
build="$DBR_ROOT/build"
dbr_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDBR_BUILD_TESTS=OFF

# The example's databases live next to its copied configuration.
demo="$build/demo"
mkdir -p "$demo"
cp "$DBR_ROOT/examples/chatbot.ini" "$demo/chatbot.ini"
echo "== dbroute check"
"$build/dbroute" check -c "$demo/chatbot.ini"
echo "== dbroute route"
"$build/dbroute" route -c "$demo/chatbot.ini" -1001234567890 42
echo "== example chat bot ($demo)"
"$build/examples/chatbot" "$demo/chatbot.ini"
