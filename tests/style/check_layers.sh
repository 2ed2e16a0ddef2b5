#!/usr/bin/env bash
# Layer boundaries (DESIGN.md, STYLE.md 1): no file includes another layer's
# internal.h, and no layer includes the public header of a layer above it.
set -u
src=${1:?usage: check_layers.sh SRC_DIR}
order=(util script asm sym target agent event cmd cli)
rank() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && echo "$i" && return; done; echo -1; }
# Layers that may not include each other although neither is above the other.
fail=0
for f in $(cd "$src" && find . -name '*.[ch]' | sed 's|^\./||'); do
  layer=${f%%/*}
  r=$(rank "$layer")
  [ "$r" -ge 0 ] || continue
  while IFS= read -r inc; do
    other=${inc%%/*}
    [ "$other" = "$layer" ] && continue
    case "$inc" in
      */internal.h) echo "$f: includes another layer's private header $inc"; fail=1; continue ;;
    esac
    ro=$(rank "$other")
    [ "$ro" -ge 0 ] || continue
    if [ "$ro" -gt "$r" ]; then
      echo "$f: layer '$layer' includes '$inc' of the higher layer '$other'"
      fail=1
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$src/$f")
done
if [ $fail = 0 ]; then echo "layers: 1 passed, 0 failed"; else echo "layers: 0 passed, 1 failed"; fi
exit $fail
