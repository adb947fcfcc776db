// The command groups of `weipian`, loaded on demand: only the group named on the command line is
// imported, since every group pulls in its own libraries (the server, Excel, image processing …)
// and loading all of them before parsing cost every command 1–1.5 s. Help, a version query or an
// unknown name loads all.
import type { Command } from 'commander';
import { newCommand } from './program.ts';

type Group = () => Promise<(program: Command) => void>;

/** In registration order (the workflow group adds `batch status` to the batch group's command). */
const GROUPS: Record<string, Group> = {
  batch: async () => (await import('./commands/batch.ts')).batchCommands,
  import: async () => (await import('./commands/import.ts')).importCommands,
  export: async () => (await import('./commands/export.ts')).exportCommands,
  analyse: async () => (await import('./commands/analyse.ts')).analyseCommand,
  serve: async () => (await import('./commands/serve.ts')).serveCommand,
  audit: async () => (await import('./commands/audit.ts')).auditCommands,
  backup: async () => (await import('./commands/backup.ts')).backupCommands,
  users: async () => (await import('./commands/users.ts')).usersCommands,
  demo: async () => (await import('./commands/demo.ts')).demoCommands,
  workflow: async () => (await import('./commands/workflow.ts')).workflowCommands,
  evidence: async () => (await import('./commands/evidence.ts')).evidenceCommands,
};

/** The groups that define each top-level command (test/unit/cli-groups.test.ts keeps this true). */
export const COMMAND_GROUPS: Record<string, readonly string[]> = {
  batch: ['batch', 'workflow'],
  import: ['import'],
  export: ['export'],
  analyse: ['analyse'],
  worker: ['analyse'],
  serve: ['serve'],
  audit: ['audit'],
  backup: ['backup'],
  restore: ['backup'],
  users: ['users'],
  demo: ['demo'],
  round: ['workflow'],
  upper: ['workflow'],
  patch: ['workflow'],
  evidence: ['evidence'],
};

/** Registers the groups a command line needs (all of them when the command is not known). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = newCommand('weipian', '卫片执法监督检查系统：图斑导入、核查判定、整改验收与统计').version(
    '0.1.0',
    '-V, --version',
    '显示版本',
  );
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const wanted = (name !== undefined && COMMAND_GROUPS[name]) || Object.keys(GROUPS);
  for (const g of Object.keys(GROUPS)) if (wanted.includes(g)) (await GROUPS[g]!())(program);
  return program;
}
