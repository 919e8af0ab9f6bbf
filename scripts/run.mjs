// Launcher for kubedrill's TypeScript entry points: checks the Node version first, so an old Node
// prints one line saying what to do instead of a stack trace, then runs the .ts file directly
// (Node >= 22.19 strips TypeScript types natively).
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `kubedrill needs Node.js >= 22.19 (this is ${process.version}): run scripts/start or scripts/test, which fetch a supported Node automatically, or install Node 24.`,
  );
  process.exit(1);
}
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run.mjs <file.ts> [args…]');
  process.exit(2);
}
const { pathToFileURL } = await import('node:url');
const path = await import('node:path');
process.argv = [process.argv[0] ?? 'node', path.resolve(entry), ...rest];
await import(pathToFileURL(path.resolve(entry)).href);
