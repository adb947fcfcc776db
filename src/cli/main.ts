// The `weipian` command: the groups the command line needs (groups.ts), then commander.
import { isCommanderExit } from './program.ts';
import { buildProgram } from './groups.ts';

const program = await buildProgram(process.argv);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Commander already printed its message (help, version, or a usage error in our one-line form).
  if (isCommanderExit(e)) process.exitCode = e.exitCode;
  else throw e;
}
