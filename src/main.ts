import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN_HELP, usageError } from './cli/usage.ts';
import { ErrorCode, exitCodeFor, PillionError } from './core/errors.ts';
import { Logger } from './core/log.ts';
import { createLogOutput } from './logs/index.ts';

const out = createLogOutput();
const log = new Logger(out);

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    // Each command loads only its own modules (bench/startup.ts: start-up is mostly module
    // loading).
    case 'run':
      return (await import('./cli/run.ts')).runCommand(rest, log);
    case 'validate':
      return (await import('./cli/config-commands.ts')).validateCommand(rest);
    case 'schema':
      return (await import('./cli/config-commands.ts')).schemaCommand();
    case 'config':
      return (await import('./cli/config-commands.ts')).configCommand(rest);
    case 'inject':
      return (await import('./cli/inject.ts')).injectCommand(rest);
    case 'status':
      return (await import('./cli/admin-commands.ts')).statusCommand(rest);
    case 'restart':
      return (await import('./cli/admin-commands.ts')).restartCommand(rest);
    case 'reload':
      return (await import('./cli/admin-commands.ts')).reloadCommand(rest);
    case 'cert':
      return (await import('./cli/cert.ts')).certCommand(rest);
    case 'version':
    case '--version':
    case '-v': {
      const { VERSION } = await import('./core/version.ts');
      process.stdout.write(`pillion ${VERSION}\n`);
      return 0;
    }
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(MAIN_HELP);
      return 0;
    case undefined:
      process.stderr.write(MAIN_HELP);
      return 2;
    default:
      throw usageError(`unknown command '${cmd}'`);
  }
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (err) {
  code = exitCodeFor(err);
  if (err instanceof PillionError && err.code === ErrorCode.USAGE) {
    process.stderr.write(`pillion: ${err.message}\n`);
  } else {
    const e = err as Error & { code?: string };
    log.error(e.message, { code: e.code ?? 'PILLION_INTERNAL' });
    process.stderr.write(`pillion: ${e.message}\n`);
  }
}
// The last lines are handed to stdout before exiting; a reader that takes none for this long
// (a stuck log collector) does not keep Pillion from exiting with the app's code.
const EXIT_FLUSH_MS = 10_000;
await Promise.race([out.flush(), sleep(EXIT_FLUSH_MS, undefined, { ref: false })]);
process.exit(code);
