import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { earlyExitPipes, setsPipefail, sourcedNames } from './shell-lint.ts';

const strict = '#!/usr/bin/env bash\nset -euo pipefail\n';
const where = (text: string) => earlyExitPipes(text).map((f) => `${f.line}:${f.col} ${f.message.split(' stops')[0]}`);

describe('earlyExitPipes', () => {
  it('finds head and grep -q/-m readers in a pipefail script, with their line and column', () => {
    const text = `${strict}crictl ps -q | grep -qFx "$id"\nfirst=$(kubectl get pods -o name | head -n 1)\nkubectl logs x | grep -m1 ready\nk get x | grep --quiet y\n`;
    assert.deepEqual(where(text), ['3:16 `| grep -q`', '4:36 `| head`', '5:18 `| grep -m`', '6:11 `| grep --quiet`']);
  });

  it('finds them inside $( … ) within double quotes', () => {
    assert.deepEqual(where(`${strict}echo "first: $(crictl pods -q | head -n 1)"\n`), ['3:33 `| head`']);
  });

  it('leaves readers that consume all input, || lists, quoted text, comments and here-documents alone', () => {
    const text = [
      strict,
      'k get pods | grep -c Running',
      'k get pods | grep Running >/dev/null',
      "k get pods | awk 'NR == 1'",
      'k get pods | sed -n 1p',
      'ok || grep -q x file',
      'grep -q x <<<"$out"',
      "grep -E 'a|head -n 1' file",
      'echo "a | grep -q b"',
      '# k get pods | head -n 1',
      'k get pods # | head',
      "kubectl apply -f - <<'YAML'",
      '  args: ["sh", "-c", "ps | grep -q nginx"]',
      '  command: | head',
      'YAML',
      'k get pods | grep -e -q x',
      // A program for the shell in a container, quoted over several lines: its pipes are not this script's.
      "kubectl exec web -- sh -c '",
      '  out=$(wget -q -O- http://x)',
      '  echo "$out" | head -n1',
      "  ' sh",
    ].join('\n');
    assert.deepEqual(where(text), []);
  });

  it('reports nothing in a script without pipefail (the reader decides the status there)', () => {
    assert.deepEqual(where('#!/bin/sh\nset -eu\nps | grep -q nginx\n'), []);
  });

  it('reads the usual ways of turning pipefail on', () => {
    for (const line of ['set -o pipefail', 'set -euo pipefail', 'set -Eeuo pipefail', 'set -e -o pipefail', 'set -eu; set -o pipefail'])
      assert.equal(setsPipefail(`#!/bin/bash\n${line}\n`), true, line);
    for (const line of ['set -eu', '# set -o pipefail', 'echo "set -o pipefail"']) assert.equal(setsPipefail(`#!/bin/bash\n${line}\n`), false, line);
  });
});

describe('sourcedNames', () => {
  it('names the files a script sources, by their last path part', () => {
    assert.deepEqual(sourcedNames('set -euo pipefail\nsource "$(dirname "$0")/lib.sh"\n. ./common.sh; x=1\n# source no.sh\necho source-less\n'), [
      'lib.sh',
      'common.sh',
    ]);
  });

  it('follows a path held in a variable', () => {
    assert.deepEqual(sourcedNames('set -euo pipefail\nlib="$(dirname "$0")/../checks/lib.sh"\n. "$lib"\n'), ['lib.sh']);
  });
});
