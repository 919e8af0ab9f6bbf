#!/bin/bash
[ "$(cat /root/note.txt 2>/dev/null)" = "kubedrill" ] || { echo "/root/note.txt does not hold kubedrill"; exit 1; }
