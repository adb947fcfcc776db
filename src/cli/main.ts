// The `weipian` command.
import { newCommand, isCommanderExit } from './program.ts';
import { batchCommands } from './commands/batch.ts';
import { importCommands } from './commands/import.ts';
import { exportCommands } from './commands/export.ts';
import { serveCommand } from './commands/serve.ts';
import { auditCommands } from './commands/audit.ts';
import { backupCommands } from './commands/backup.ts';
import { usersCommands } from './commands/users.ts';
import { demoCommands } from './commands/demo.ts';
import { analyseCommand } from './commands/analyse.ts';
import { workflowCommands } from './commands/workflow.ts';
import { evidenceCommands } from './commands/evidence.ts';

const program = newCommand('weipian', '卫片执法监督检查系统：图斑导入、核查判定、整改验收与统计').version(
  '0.1.0',
  '-V, --version',
  '显示版本',
);
batchCommands(program);
importCommands(program);
exportCommands(program);
analyseCommand(program);
serveCommand(program);
auditCommands(program);
backupCommands(program);
usersCommands(program);
demoCommands(program);
workflowCommands(program);
evidenceCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Commander already printed its message (help, version, or a usage error in our one-line form).
  if (isCommanderExit(e)) process.exitCode = e.exitCode;
  else throw e;
}
