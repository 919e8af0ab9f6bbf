#!/bin/bash
[ "$(kubectl -n team-a get resourcequota pods-max -o jsonpath='{.spec.hard.pods}' 2>/dev/null)" = "5" ]
