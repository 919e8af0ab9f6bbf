// What every command-line script does with its arguments and its node image, said once.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errorMessage } from '../../graders/src/shared/error-message.ts';
import { verifyTarget } from './labs-verify.ts';

/**
 * A script's arguments as parseArgs reads them. A bad argument prints why and the usage and exits 2;
 * --help (when the options declare it) prints the usage and exits 0.
 */
export function parseCli<T extends ParseArgsConfig>(name: string, usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    console.error(`${name}: ${errorMessage(e)}\n${usage}`);
    process.exit(2);
  }
  if ((parsed.values as { help?: unknown }).help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}

/** The kind node image to verify on (--node-image, else as verifyTarget finds it); where there is none, says why the script skips and exits 0. */
export async function nodeImageOrSkip(name: string, nodeImage: string | undefined): Promise<string> {
  const target = await verifyTarget(nodeImage ? { ...process.env, KUBEDRILL_NODE_IMAGE: nodeImage } : process.env);
  if ('skip' in target) {
    console.log(`${name} skipped: ${target.skip}`);
    process.exit(0);
  }
  return target.image;
}
